package generator.scdftask.kubernetes;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import okhttp3.mockwebserver.RecordedRequest;

/**
 * A Kubernetes API for tests: fabric8's mock server in CRUD mode (it stores, lists by label,
 * watches and deletes what clients create, and validates nothing), with two additions a real API
 * server has and the mock lacks.
 *
 * <ul>
 *   <li>Pod logs ({@code GET .../pods/NAME/log}): SCDF's task log view reads them; the stand-in
 *       kubelet writes each container's output to {@code LOG_DIR/NAME.log}, served from there.
 *   <li>A journal of every write (method, path, client, body) in {@code JOURNAL} as JSON lines:
 *       the evidence of the pods and CronJobs exactly as SCDF's deployer sent them. Secret bodies
 *       are left out of it: they hold the database password.
 * </ul>
 *
 * <p>Usage: {@code java -jar kubernetes-mock-api.jar PORT LOG_DIR JOURNAL}. Listens on 127.0.0.1,
 * plain HTTP.
 */
public final class MockKubernetesApi {

  private MockKubernetesApi() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: MockKubernetesApi PORT LOG_DIR JOURNAL");
      System.exit(2);
    }
    int port = Integer.parseInt(args[0]);
    Path logDir = Path.of(args[1]);
    Path journal = Path.of(args[2]);
    Files.createDirectories(logDir);
    KubernetesMockServer server =
        new KubernetesMockServer(
            new Context(Serialization.jsonMapper()),
            new MockWebServer(),
            new HashMap<>(),
            new JournallingDispatcher(logDir, journal),
            false);
    server.init(InetAddress.getByName("127.0.0.1"), port);
    System.out.println("kubernetes mock API on " + server.url("/"));
    System.out.flush();
    Thread.currentThread().join();
  }

  static final class JournallingDispatcher extends KubernetesCrudDispatcher {
    private static final Pattern POD_LOG =
        Pattern.compile("^/api/v1/namespaces/[^/]+/pods/([a-z0-9.-]+)/log(\\?.*)?$");
    private static final Pattern TAIL_LINES = Pattern.compile("[?&]tailLines=(\\d+)");
    private static final List<String> WRITES = List.of("POST", "PUT", "PATCH", "DELETE");

    private final Path logDir;
    private final Path journal;
    private final ObjectMapper json = new ObjectMapper();

    JournallingDispatcher(Path logDir, Path journal) {
      this.logDir = logDir;
      this.journal = journal;
    }

    @Override
    public MockResponse dispatch(RecordedRequest request) {
      String method = request.getMethod().toUpperCase();
      String path = request.getPath();
      if (method.equals("GET")) {
        Matcher log = POD_LOG.matcher(path);
        if (log.matches()) {
          return podLog(log.group(1), path);
        }
        if (path.equals("/version")) {
          return new MockResponse()
              .setResponseCode(200)
              .setBody("{\"major\":\"1\",\"minor\":\"25\",\"gitVersion\":\"v1.25.0-mock\"}");
        }
      }
      if (WRITES.contains(method)) {
        record(method, path, request);
      }
      return super.dispatch(request);
    }

    private MockResponse podLog(String pod, String path) {
      Path file = logDir.resolve(pod + ".log");
      if (!Files.isRegularFile(file)) {
        return new MockResponse().setResponseCode(404).setBody("no log of pod " + pod);
      }
      try {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        Matcher tail = TAIL_LINES.matcher(path);
        if (tail.find()) {
          List<String> lines = Arrays.asList(text.split("\n", -1));
          int keep = Integer.parseInt(tail.group(1)) + (text.endsWith("\n") ? 1 : 0);
          text = String.join("\n", lines.subList(Math.max(0, lines.size() - keep), lines.size()));
        }
        return new MockResponse().setResponseCode(200).setBody(text);
      } catch (IOException e) {
        return new MockResponse().setResponseCode(500).setBody(e.toString());
      }
    }

    private synchronized void record(String method, String path, RecordedRequest request) {
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("method", method);
      entry.put("path", path);
      entry.put("client", request.getHeader("User-Agent"));
      // clone(): the body is a buffer, and the CRUD dispatcher reads it after this.
      entry.put("body", path.contains("/secrets") ? null : request.getBody().clone().readUtf8());
      try {
        Files.writeString(
            journal,
            json.writeValueAsString(entry) + "\n",
            StandardCharsets.UTF_8,
            StandardOpenOption.CREATE,
            StandardOpenOption.APPEND);
      } catch (IOException e) {
        throw new IllegalStateException("cannot write the journal " + journal, e);
      }
    }
  }
}
