package ai.coalora.engine.quant;

/**
 * Nearest-level search over a sorted codebook in [-1, 1], the quantizer's inner loop. Returns exactly the number of
 * decision thresholds (midpoints between consecutive levels) strictly below x, i.e. ties go to the lower level.
 * A uniform bucket table gives the answer up to a neighbour, and a short comparison walk makes it exact, which
 * avoids the unpredictable branches of a binary search.
 */
final class NearestLevel {
    private static final int BUCKETS = 1 << 13;
    private static final float BUCKETS_PER_UNIT = BUCKETS / 2f;

    private final float[] thresholds;
    private final short[] firstIndex; // per bucket: thresholds strictly below the bucket's lower edge

    NearestLevel(float[] sortedLevels) {
        thresholds = new float[sortedLevels.length - 1];
        for (int i = 0; i < thresholds.length; i++) thresholds[i] = 0.5f * (sortedLevels[i] + sortedLevels[i + 1]);
        firstIndex = new short[BUCKETS];
        int count = 0;
        for (int bucket = 0; bucket < BUCKETS; bucket++) {
            float edge = bucket / BUCKETS_PER_UNIT - 1f;
            while (count < thresholds.length && thresholds[count] < edge) count++;
            firstIndex[bucket] = (short) count;
        }
    }

    int indexOf(float x) {
        int bucket = (int) ((x + 1f) * BUCKETS_PER_UNIT);
        bucket = Math.max(0, Math.min(BUCKETS - 1, bucket));
        int i = firstIndex[bucket];
        // exact correction, whatever rounding did to the bucket (normally at most one step, usually none)
        while (i < thresholds.length && thresholds[i] < x) i++;
        while (i > 0 && !(thresholds[i - 1] < x)) i--;
        return i;
    }
}
