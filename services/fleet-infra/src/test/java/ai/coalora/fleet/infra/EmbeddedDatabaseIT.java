package ai.coalora.fleet.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedDatabaseIT {

    @TempDir
    Path dir;

    @Test
    void rowsSurviveARestart() throws Exception {
        try (EmbeddedDatabase db = EmbeddedDatabase.start(dir, 0)) {
            db.createDatabase("registry");
            db.createDatabase("registry"); // idempotent
            try (Connection c = connect(db);
                    Statement s = c.createStatement()) {
                s.execute("CREATE TABLE model_version (id text PRIMARY KEY, sha256 text NOT NULL)");
                s.execute("INSERT INTO model_version VALUES ('v1', 'abc')");
                assertEquals("abc", sha(s));
            }
        }
        try (EmbeddedDatabase db = EmbeddedDatabase.start(dir, 0)) {
            db.createDatabase("registry");
            try (Connection c = connect(db);
                    Statement s = c.createStatement()) {
                assertEquals("abc", sha(s));
            }
        }
    }

    private static Connection connect(EmbeddedDatabase db) throws SQLException {
        return DriverManager.getConnection(db.jdbcUrl("registry"), EmbeddedDatabase.USER, "");
    }

    private static String sha(Statement s) throws SQLException {
        try (ResultSet rs = s.executeQuery("SELECT sha256 FROM model_version WHERE id = 'v1'")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
