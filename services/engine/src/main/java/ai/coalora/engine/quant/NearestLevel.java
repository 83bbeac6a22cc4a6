package ai.coalora.engine.quant;

/**
 * Nearest-level search over a sorted codebook in [-1, 1], the quantizer's inner loop. Returns exactly the number of
 * decision thresholds (midpoints between consecutive levels) strictly below x, i.e. ties go to the lower level.
 * A uniform bucket table gives the answer up to a neighbour; one branch-free step and one check against the two
 * neighbouring thresholds make it exact (a bucket is far narrower than the gap between levels, so the walk that
 * handles a bucket misjudged by rounding almost never runs). This is the error tables' inner loop: 432 options
 * times every weight of the model.
 */
final class NearestLevel {
    private static final int BUCKETS = 1 << 13;
    private static final float BUCKETS_PER_UNIT = BUCKETS / 2f;

    private final float[] thresholds;
    private final float[] bounded; // -inf, the thresholds, +inf: the check reads both neighbours without a bounds test
    private final short[] firstIndex; // per bucket: thresholds strictly below the bucket's lower edge

    NearestLevel(float[] sortedLevels) {
        thresholds = new float[sortedLevels.length - 1];
        for (int i = 0; i < thresholds.length; i++) thresholds[i] = 0.5f * (sortedLevels[i] + sortedLevels[i + 1]);
        bounded = new float[thresholds.length + 2];
        bounded[0] = Float.NEGATIVE_INFINITY;
        System.arraycopy(thresholds, 0, bounded, 1, thresholds.length);
        bounded[thresholds.length + 1] = Float.POSITIVE_INFINITY;
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
        i += bounded[i + 1] < x ? 1 : 0; // the threshold inside x's bucket, if any
        if (bounded[i + 1] < x || !(bounded[i] < x)) return walk(x, i); // rounding put x in a neighbouring bucket
        return i;
    }

    private int walk(float x, int i) {
        while (i < thresholds.length && thresholds[i] < x) i++;
        while (i > 0 && !(thresholds[i - 1] < x)) i--;
        return i;
    }
}
