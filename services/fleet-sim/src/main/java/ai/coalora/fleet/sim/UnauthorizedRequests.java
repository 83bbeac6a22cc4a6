package ai.coalora.fleet.sim;

import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.DeviceStatus;
import ai.coalora.fleet.events.Payloads.EvaluationTelemetry;
import ai.coalora.fleet.gateway.GatewayClient;
import ai.coalora.fleet.messaging.Failures;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Requests the device gateway must refuse, tried against a running stack: devices speaking for others with their own
 * token (403) and revoked devices still knocking (401). Each request is counted as refused only when the answer is
 * the expected status with its reason; anything else is counted as let through.
 */
final class UnauthorizedRequests {
    private UnauthorizedRequests() {}

    /**
     * Devices speaking as others: each of up to 50 devices posts another device's capabilities, status and telemetry
     * with its own token. Every request must be refused (403, with the reason), and the other device's state unchanged.
     */
    static UnauthorizedWrites.Result impostors(
            GatewayClient gateway, List<DeviceCapabilities> devices, Map<String, String> tokens) throws Exception {
        int n = Math.min(50, devices.size() - 1);
        long sent = 0, refused = 0;
        for (int i = 0; i < n; i++) {
            String own = tokens.get(devices.get(i).deviceId());
            DeviceCapabilities victim = devices.get(i + 1);
            List<Request> calls = writes(gateway, own, victim, "impostor");
            sent += calls.size();
            refused += refusedWith(calls, 403, "cannot speak for");
        }
        return new UnauthorizedWrites.Result(
                sent, refused, "403 this credential belongs to device A, which cannot speak for B");
    }

    /**
     * Revoked devices: 20 devices enrolled, then revoked; each still tries every gateway request with its old token
     * (capabilities, status, telemetry, its package, a file). Every request must be refused (401).
     */
    static UnauthorizedWrites.Result revoked(FleetStack stack, DeviceCapabilities model) throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 20; i++) ids.add("revoked-" + i);
        Map<String, String> revoked = stack.enrol(ids);
        for (String id : ids) stack.registry(FleetStack.OPERATOR_USER).revoke(id);
        GatewayClient gateway = stack.gateway();
        long sent = 0, refused = 0;
        for (String id : ids) {
            String token = revoked.get(id);
            DeviceCapabilities caps = new DeviceCapabilities(
                    id,
                    model.memoryBytes(),
                    model.weightBits(),
                    model.runtimeFormats(),
                    model.computeClass(),
                    model.runtimeOverheadBytes(),
                    Map.of());
            List<Request> calls = new ArrayList<>(writes(gateway, token, caps, "revoked"));
            calls.addAll(List.of(
                    () -> {
                        try {
                            gateway.nextPackage(token, null, Duration.ZERO).get(1, TimeUnit.MINUTES);
                        } catch (ExecutionException e) {
                            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
                        }
                    },
                    () -> gateway.download(token, GatewayClient.PREFIX + "blobs/" + "0".repeat(64))));
            sent += calls.size();
            refused += refusedWith(calls, 401, "");
        }
        return new UnauthorizedWrites.Result(sent, refused, "401 unknown or revoked device token");
    }

    /** What a device writes through the gateway, with {@code token}, in the name of {@code device}: capabilities, status, telemetry. */
    private static List<Request> writes(GatewayClient gateway, String token, DeviceCapabilities device, String reason) {
        String id = device.deviceId();
        return List.of(
                () -> gateway.capabilities(token, device),
                () -> gateway.status(
                        token,
                        new DeviceStatus(id, null, null, null, null, DeviceStatus.FAILED, reason, Instant.now())),
                () -> gateway.telemetry(
                        token, EvaluationTelemetry.accuracy(id, null, null, null, 0.0, 1, 1.0, 1L, Instant.now())));
    }

    /** One request to a service. */
    interface Request {
        void call() throws Exception;
    }

    /** How many of {@code calls} the gateway refused with {@code status} and a reason mentioning {@code why}. */
    static long refusedWith(List<Request> calls, int status, String why) throws Exception {
        long refused = 0;
        for (Request call : calls) {
            try {
                call.call();
            } catch (Failures.Refused r) {
                if (r.status() == status && r.getMessage().contains(why)) refused++;
            } catch (Failures.Unavailable other) {
                if (other.status() == status) refused++;
            } catch (IOException noAnswer) {
                // not a refusal: counted as let through
            }
        }
        return refused;
    }

    /** The HTTP status a request was answered with, or what kept it from an answer. */
    static String answer(Request request) throws InterruptedException {
        try {
            request.call();
            return "200";
        } catch (Failures.Refused r) {
            return Integer.toString(r.status());
        } catch (Failures.Unavailable u) {
            return Integer.toString(u.status());
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            return "no answer (" + e.getClass().getSimpleName() + ")";
        }
    }
}
