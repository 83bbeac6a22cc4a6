package ai.coalora.fleet.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The counting of server failures over process restarts, and the metrics text it reads. */
class ServerFailuresTest {

    @Test
    void aCounterAddsUpEveryLifeOfItsProcess() {
        ServerFailures.Counter c = new ServerFailures.Counter();
        c.observe(0);
        c.observe(2);
        c.observe(2);
        assertEquals(2, c.total());
        c.observe(1); // a drop: the process started again and has answered one since
        assertEquals(3, c.total());
        c.restarted(); // a new start time seen: what it shows now is all new
        c.observe(4);
        assertEquals(7, c.total());
        c.observe(6);
        assertEquals(9, c.total());
    }

    @Test
    void serverErrorsAreReadFromThePrometheusText() {
        PrometheusScrape m = PrometheusScrape.parse("""
                # TYPE http_server_requests_seconds summary
                http_server_requests_seconds_count{method="GET",outcome="SERVER_ERROR",status="500",uri="/api/fleet/summary"} 3.0
                http_server_requests_seconds_count{method="GET",outcome="SERVER_ERROR",status="503",uri="/q/health/ready"} 7.0
                http_server_requests_seconds_count{method="POST",outcome="SUCCESS",status="200",uri="/device/v1/status"} 12.0
                process_start_time_seconds 1.7654321E9
                """);
        assertEquals(3.0, m.sum("http_server_requests_seconds_count", Map.of("status", "500")));
        assertEquals(22.0, m.sum("http_server_requests_seconds_count", Map.of()));
        assertEquals(1.7654321E9, m.value("process_start_time_seconds", Map.of()));
        assertEquals("summary", m.typeOf("http_server_requests_seconds_count"));
    }
}
