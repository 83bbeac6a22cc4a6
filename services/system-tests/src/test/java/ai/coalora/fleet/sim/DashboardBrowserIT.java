package ai.coalora.fleet.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.bundle.ModelBundle;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.train.Progress;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.registry.RegistryClient;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.NoSuchElementException;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The registry's web dashboard in a real browser (Debian's headless Chromium through Selenium) against the
 * whole system: a fleet of simulated devices running version one and reporting telemetry, and a rollout of
 * version two held in its first wave. Signs in through the form, checks that each page shows the fleet's data,
 * pauses and resumes the rollout with the page's buttons (checked through the REST API: the operator is the
 * signed-in user) and writes a screenshot of each page to {@code target/screenshots/}.
 */
class DashboardBrowserIT {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium"), CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    /** The stack's admin signs in (its password is random per stack). */
    static final String ADMIN_USER = FleetStack.ADMIN_USER;

    static final int DEVICES = 41;
    static final Duration WAIT = Duration.ofMinutes(3), PAGE_WAIT = Duration.ofSeconds(90);
    static final Path SCREENSHOTS = Path.of("target", "screenshots");

    @Test
    void theDashboardShowsTheFleetAndItsOperatorPausesAndResumesARollout() throws Exception {
        Assumptions.assumeTrue(
                Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "DashboardBrowserIT needs Chromium and its driver at " + CHROMIUM + " and " + CHROMEDRIVER
                        + " (apt-get install -y chromium chromium-driver); skipped");
        long t0 = System.nanoTime();
        Path bundle = FleetBundle.TEST.ensure(Progress.NONE);
        Path work = Files.createTempDirectory("coalora-dashboard-");
        Files.createDirectories(SCREENSHOTS);
        // no retraining in this test: 20-sentence shards are noisy, and a training run would compete for the CPUs
        Map<String, String> settings =
                Map.of("COALORA_RETRAINING_MARGIN", "0.5", "COALORA_COVERAGE_MIN_DEVICES", "100000");
        try (FleetStack stack = FleetStack.start(work, settings, m -> System.out.println("[dashboard] " + m))) {
            RegistryClient registry = stack.registry(ADMIN_USER);
            ModelPublisher.Published v1 =
                    ModelPublisher.registerAndPromote(registry, bundle, "production", "dashboard-test", "version one");
            List<DeviceCapabilities> devices = SimulatedFleet.devices(DEVICES, v1.front(), 23);
            List<String> feasible = devices.stream()
                    .filter(d -> FleetEndToEndIT.bestFitting(d, v1.front()) != null)
                    .map(DeviceCapabilities::deviceId)
                    .sorted()
                    .toList();
            assertTrue(feasible.size() >= 10, "feasible devices: " + feasible.size());
            // the first feasible device (in id order, so in the rollout's first wave) has no agent: it never answers,
            // so wave 1
            // stays running until an operator acts (its success threshold is 100%)
            String silent = feasible.get(0);
            List<String> answering = devices.stream()
                    .map(DeviceCapabilities::deviceId)
                    .filter(d -> !d.equals(silent))
                    .toList();
            Map<String, String> tokens = stack.enrol(
                    devices.stream().map(DeviceCapabilities::deviceId).toList());
            try (DeviceAgents agents = new DeviceAgents(
                    stack.gateway(),
                    stack.rootKey(),
                    tokens,
                    answering,
                    Tasks.builtin("sentiment").test(),
                    20,
                    DeviceAgents.Faults.NONE,
                    5)) {
                SimulatedFleet.announce(stack.gateway(), tokens, devices);
                assertTrue(
                        FleetObserver.await(
                                () -> summary(registry)
                                                .path("byStatus")
                                                .path("running")
                                                .asLong()
                                        >= feasible.size() - 1,
                                WAIT),
                        "devices running version one: " + summary(registry) + " agents: " + agents.report());
                System.out.printf(
                        "[dashboard] %d devices (%d feasible) run version one after %d s%n",
                        DEVICES, feasible.size(), seconds(t0));

                ModelPublisher.Published v2 = ModelPublisher.register(registry, copy(bundle, work.resolve("v2")));
                JsonNode created = registry.sendJson(
                        "POST",
                        "api/rollouts",
                        Map.of(
                                "modelVersion",
                                v2.modelVersion(),
                                "actor",
                                "dashboard-test",
                                "deviceIds",
                                feasible,
                                "waveFractions",
                                List.of(0.5, 0.5),
                                "successThreshold",
                                1.0,
                                "errorThreshold",
                                0.5,
                                "errorMinExecuted",
                                4,
                                "qualityMargin",
                                0.5,
                                "onWaveSuccess",
                                "pause"));
                String rollout = created.get("rolloutId").asText();

                // the dashboard's files and its data endpoints' answers to bad requests
                var admin = stack.credentials(ADMIN_USER);
                for (String f : List.of("", "index.html", "app.js", "style.css")) {
                    assertEquals(
                            200,
                            FleetEndToEndIT.http(admin, "GET", stack.registryUrl() + "/dashboard/" + f, null, null)
                                    .statusCode(),
                            "/dashboard/" + f);
                    assertEquals(
                            401,
                            FleetEndToEndIT.http(null, "GET", stack.registryUrl() + "/dashboard/" + f, null, null)
                                    .statusCode(),
                            "/dashboard/" + f + " needs credentials");
                }
                assertEquals(
                        404,
                        FleetEndToEndIT.http(
                                        admin,
                                        "GET",
                                        stack.registryUrl() + "/api/dashboard/versions/" + "0".repeat(64) + "/front",
                                        null,
                                        null)
                                .statusCode());
                assertEquals(
                        400,
                        FleetEndToEndIT.http(
                                        admin,
                                        "GET",
                                        stack.registryUrl() + "/api/dashboard/telemetry?bucketSeconds=0",
                                        null,
                                        null)
                                .statusCode());
                assertEquals(
                        400,
                        FleetEndToEndIT.http(
                                        admin,
                                        "GET",
                                        stack.registryUrl() + "/api/dashboard/telemetry?buckets=100000",
                                        null,
                                        null)
                                .statusCode());

                WebDriver driver = chromium(work);
                try {
                    driver.get(dashboardUrl(stack));
                    login(driver, ADMIN_USER, stack.credentials(ADMIN_USER).password());

                    // fleet overview: statuses, the histogram of assigned bits, devices per version
                    await(driver, d -> count(d, "#fleet-status tr[data-status='running']") == 1);
                    await(driver, d -> count(d, "#bits-histogram rect.bar") >= 1);
                    await(
                            driver,
                            d -> count(d, "#fleet-version-table tr[data-version='" + v1.modelVersion() + "']") == 1);
                    assertTrue(text(driver, "#fleet-version-table").contains("production"), "the alias is shown");
                    screenshot(driver, "fleet");

                    // rollouts: the list, then the detail with its waves, thresholds and transitions
                    navigate(driver, "rollouts");
                    await(driver, d -> count(d, "#rollout-table tr[data-rollout='" + rollout + "']") == 1);
                    screenshot(driver, "rollouts");
                    click(driver, "#rollout-table tr[data-rollout='" + rollout + "'] a");
                    await(
                            driver,
                            d -> text(d, "#rollout-state").equals("running")
                                    && count(d, "#wave-1 .wavebar [data-part='finished']") == 1
                                    && count(d, "#wave-2 .wavebar [data-part='scheduled']") == 1);
                    assertTrue(text(driver, "#threshold-table").contains("≥ 100%"), text(driver, "#threshold-table"));
                    assertTrue(
                            text(driver, "#transition-table").contains("wave 1 of 2 started"),
                            text(driver, "#transition-table"));

                    // pause from the page: the rollout is paused by the signed-in operator, with the reason typed in
                    driver.findElement(By.id("action-reason")).sendKeys("dashboard test: hold wave 1");
                    click(driver, "#action-pause");
                    await(driver, d -> text(d, "#rollout-state").equals("paused"));
                    JsonNode paused = registry.getJson("api/rollouts/" + rollout);
                    assertEquals("paused", paused.get("state").asText());
                    JsonNode last = lastTransition(paused);
                    assertEquals("operator:" + ADMIN_USER, last.get("actor").asText(), last.toString());
                    assertEquals(
                            "dashboard test: hold wave 1", last.get("reason").asText());
                    await(driver, d -> text(d, "#transition-table").contains("dashboard test: hold wave 1"));
                    await(
                            driver,
                            d -> d.findElement(By.id("action-pause")).getAttribute("disabled")
                                    != null); // pause is disabled while paused
                    screenshot(driver, "rollout-paused");

                    // resume from the page: it leaves paused (wave 1 is not concluded, so it continues running)
                    driver.findElement(By.id("action-reason")).sendKeys("dashboard test: go on");
                    click(driver, "#action-resume");
                    await(driver, d -> !text(d, "#rollout-state").equals("paused"));
                    JsonNode resumed = registry.getJson("api/rollouts/" + rollout);
                    assertNotEquals("paused", resumed.get("state").asText());
                    assertEquals(
                            "operator:" + ADMIN_USER,
                            lastTransition(resumed).get("actor").asText(),
                            lastTransition(resumed).toString());
                    assertEquals(
                            "dashboard test: go on",
                            lastTransition(resumed).get("reason").asText());
                    screenshot(driver, "rollout-resumed");

                    // model versions: the list with aliases, then version one's front: predicted and fleet-measured
                    // points
                    navigate(driver, "versions");
                    await(driver, d -> count(d, "#version-table tr[data-version]") == 2);
                    screenshot(driver, "versions");
                    click(driver, "#version-table tr[data-version='" + v1.modelVersion() + "'] a");
                    await(
                            driver,
                            d -> count(d, "#front-svg .plot circle.pt-predicted")
                                            == v1.front().size()
                                    && count(d, "#front-svg .plot rect.pt-measured") >= 1);
                    int measured = count(driver, "#front-svg .plot rect.pt-measured");
                    JsonNode front = registry.getJson("api/dashboard/versions/" + v1.modelVersion() + "/front");
                    assertEquals(
                            front.get("measured").size(),
                            measured,
                            "one measured point per configuration the fleet reported on");
                    long reporting = 0;
                    for (JsonNode m : front.get("measured"))
                        reporting += m.get("devices").asLong();
                    assertTrue(
                            reporting >= feasible.size() - 1,
                            "every running device's latest report: " + front.get("measured"));
                    screenshot(driver, "version-front");

                    // telemetry over time: the accuracy line and the report counts
                    navigate(driver, "telemetry");
                    await(
                            driver,
                            d -> count(d, "#telemetry-accuracy path.line-accuracy") == 1
                                    && count(d, "#telemetry-counts rect.bar-count") >= 1);
                    assertTrue(
                            text(driver, "#telemetry-summary").matches("(?s)[1-9][0-9,]* evaluation reports.*"),
                            text(driver, "#telemetry-summary"));
                    screenshot(driver, "telemetry");

                    // everything the pages loaded came from the registry itself (no CDN, no external fetch)
                    List<?> loaded = (List<?>) ((JavascriptExecutor) driver)
                            .executeScript("return performance.getEntriesByType('resource').map(e => e.name)");
                    assertTrue(loaded.size() >= 5, "resources loaded: " + loaded);
                    for (Object url : loaded) {
                        String plain = url.toString()
                                .replaceFirst("^http://[^@/]*@", "http://"); // the page was opened with user:password@
                        assertTrue(
                                plain.startsWith(stack.registryUrl() + "/") || plain.startsWith("data:"),
                                "loaded from elsewhere: " + url);
                    }

                    // signing out shows the form again
                    driver.findElement(By.id("logout")).click();
                    await(driver, d -> d.findElement(By.id("login-form")).isDisplayed());
                } finally {
                    driver.quit();
                }
            }
        }
        System.out.printf("[dashboard] done in %d s; screenshots in %s%n", seconds(t0), SCREENSHOTS.toAbsolutePath());
    }

    /**
     * Where the browser opens the dashboard: the page itself needs credentials too, and headless Chromium cannot
     * answer its login prompt, so the URL carries them (the page then signs in through its own form for the API).
     */
    static String dashboardUrl(FleetStack stack) {
        var admin = stack.credentials(ADMIN_USER);
        return stack.registryUrl().replace("http://", "http://" + admin.user() + ":" + admin.password() + "@")
                + "/dashboard/";
    }

    /** Signs in through the dashboard's form and waits for the first page. */
    static void login(WebDriver driver, String user, String password) {
        await(driver, d -> d.findElement(By.id("login-form")).isDisplayed());
        WebElement u = driver.findElement(By.id("login-user")), p = driver.findElement(By.id("login-password"));
        u.clear();
        u.sendKeys(user);
        p.clear();
        p.sendKeys(password);
        driver.findElement(By.id("login-submit")).click();
        await(
                driver,
                d -> d.findElement(By.id("view")).isDisplayed()
                        && !d.findElement(By.id("login")).isDisplayed());
        assertEquals(user, text(driver, "#user-name"));
    }

    static WebDriver chromium(Path work) throws IOException {
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toString());
        options.addArguments(
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1400,1000",
                "--user-data-dir=" + Files.createTempDirectory(work, "chromium-profile"));
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER.toString()))
                .usingAnyFreePort()
                .withLogFile(work.resolve("chromedriver.log").toFile())
                .build();
        return new ChromeDriver(service, options);
    }

    static void navigate(WebDriver driver, String route) {
        click(driver, "#nav a[data-route='" + route + "']");
    }

    /** Clicks what {@code css} finds, finding it again if the page redrew it in between (it redraws when the data changes). */
    static void click(WebDriver driver, String css) {
        await(driver, d -> {
            d.findElement(By.cssSelector(css)).click();
            return true;
        });
    }

    interface Check {
        boolean holds(WebDriver d);
    }

    /** Waits for the page (it polls the registry every 2.5 s) to show what {@code check} asks for. */
    static void await(WebDriver driver, Check check) {
        new WebDriverWait(driver, PAGE_WAIT, Duration.ofMillis(250))
                .ignoring(StaleElementReferenceException.class)
                .ignoring(NoSuchElementException.class)
                .withMessage(() -> "page " + driver.getCurrentUrl() + " shows: " + text(driver, "body"))
                .until(check::holds);
    }

    static int count(WebDriver d, String css) {
        return d.findElements(By.cssSelector(css)).size();
    }

    /** The element's text; the page re-renders every poll, so an element found just before a re-render is looked up again. */
    static String text(WebDriver d, String css) {
        for (int attempt = 1; ; attempt++) {
            try {
                List<WebElement> found = d.findElements(By.cssSelector(css));
                return found.isEmpty() ? "" : found.get(0).getText().trim();
            } catch (StaleElementReferenceException e) {
                if (attempt == 5) throw e;
            }
        }
    }

    static void screenshot(WebDriver driver, String name) throws IOException {
        Files.write(SCREENSHOTS.resolve(name + ".png"), ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));
    }

    static JsonNode lastTransition(JsonNode rollout) {
        JsonNode t = rollout.get("transitions");
        return t.get(t.size() - 1);
    }

    static JsonNode summary(RegistryClient registry) {
        try {
            return registry.getJson("api/fleet/summary");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The test bundle as another version: the same tensors and front, another creation time in the manifest. */
    static Path copy(Path bundle, Path dir) throws IOException {
        Files.createDirectories(dir);
        try (Stream<Path> files = Files.list(bundle)) {
            for (Path f : files.filter(Files::isRegularFile)
                    .sorted(Comparator.naturalOrder())
                    .toList()) Files.copy(f, dir.resolve(f.getFileName()));
        }
        JsonNode manifest =
                Payloads.JSON.readTree(dir.resolve(ModelBundle.MANIFEST).toFile());
        ((ObjectNode) manifest.get("training")).put("createdAt", "2026-12-01T00:00:00Z");
        Files.write(dir.resolve(ModelBundle.MANIFEST), Payloads.JSON.writeValueAsBytes(manifest));
        ModelBundle.read(dir); // still a valid bundle
        return dir;
    }

    static long seconds(long t0) {
        return (System.nanoTime() - t0) / 1_000_000_000L;
    }
}
