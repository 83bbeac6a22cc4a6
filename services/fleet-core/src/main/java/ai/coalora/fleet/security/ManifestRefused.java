package ai.coalora.fleet.security;

/** A device refuses a package manifest; the message says why (it goes into the device's status report). */
public final class ManifestRefused extends Exception {
    public ManifestRefused(String reason) {
        super(reason);
    }
}
