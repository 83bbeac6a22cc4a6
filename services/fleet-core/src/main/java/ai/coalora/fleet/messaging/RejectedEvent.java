package ai.coalora.fleet.messaging;

/** A handler's verdict that a well-formed event cannot be applied; it goes to the dead-letter topic with this reason. */
public final class RejectedEvent extends Exception {
    public RejectedEvent(String reason) {
        super(reason);
    }
}
