package ai.coalora.registry;

/**
 * A client's mistake, with the HTTP status that answers it. Thrown anywhere below a resource, it becomes that 4xx
 * answer with a JSON body saying what was wrong ({@link ApiError}).
 */
public final class ApiException extends Exception {
    /** The statuses a client's mistake can get. */
    public enum Status {
        /** The request itself is malformed or names something it cannot. */
        BAD_REQUEST(400),
        /** The request carries no credential, or one that is unknown or revoked. */
        UNAUTHORIZED(401),
        /** The credential is valid but does not allow this request. */
        FORBIDDEN(403),
        /** What the request names does not exist. */
        NOT_FOUND(404),
        /** The request is well-formed but the resource's current state refuses it. */
        CONFLICT(409),
        /** The body is larger than the endpoint accepts. */
        PAYLOAD_TOO_LARGE(413);

        final int code;

        Status(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }
    }

    private final Status status;

    private ApiException(Status status, String message) {
        super(message);
        this.status = status;
    }

    public static ApiException badRequest(String message) {
        return new ApiException(Status.BAD_REQUEST, message);
    }

    public static ApiException notFound(String message) {
        return new ApiException(Status.NOT_FOUND, message);
    }

    public static ApiException unauthorized(String message) {
        return new ApiException(Status.UNAUTHORIZED, message);
    }

    public static ApiException forbidden(String message) {
        return new ApiException(Status.FORBIDDEN, message);
    }

    public static ApiException tooLarge(String message) {
        return new ApiException(Status.PAYLOAD_TOO_LARGE, message);
    }

    public static ApiException conflict(String message) {
        return new ApiException(Status.CONFLICT, message);
    }

    public Status status() {
        return status;
    }
}
