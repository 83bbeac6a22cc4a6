package ai.coalora.engine.train;

/** Where long-running engine work reports how far it is; the command line draws progress bars from it. */
@FunctionalInterface
public interface Progress {
    void update(String phase, long done, long total);

    Progress NONE = (phase, done, total) -> {};
}
