package ai.coalora.fleet.service;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import org.junit.jupiter.api.Test;

/** Which database errors answer "away, retry" (503) and which are defects (500). */
class DatabaseUnavailableTest {
    final DatabaseUnavailable mapper = new DatabaseUnavailable();

    @Test
    void aDatabaseThatIsAwayTellsClientsToRetry() {
        for (SQLException away : new SQLException[] {
            new SQLException("terminating connection due to administrator command", "57P01"),
            new SQLException("Connection refused", "08001"),
            new SQLException("too many clients already", "53300"),
            new SQLException("deadlock detected", "40P01"),
            new SQLTransientConnectionException("acquisition timeout"),
            new SQLException("could not commit", null, new SQLException("I/O error", "08006"))
        }) {
            var r = mapper.toResponse(away);
            assertEquals(503, r.getStatus(), away.getMessage());
            assertEquals(String.valueOf(DatabaseUnavailable.RETRY_AFTER_SECONDS), r.getHeaderString("Retry-After"));
        }
    }

    @Test
    void everyOtherDatabaseErrorIsADefect() {
        assertEquals(
                500,
                mapper.toResponse(new SQLException("duplicate key", "23505")).getStatus());
        assertEquals(
                500,
                mapper.toResponse(new SQLException("syntax error", "42601")).getStatus());
        assertEquals(500, mapper.toResponse(new SQLException("no state")).getStatus());
    }
}
