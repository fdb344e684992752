package dev.checkmate.relay.soak;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * Reads a relay's Prometheus {@code /metrics}: each series' value, keyed by its name with labels
 * as printed (e.g. {@code relay_sessions_active{state="paired"}}), plus each name alone with the
 * sum of its series. Empty when the relay does not answer (killed, restarting).
 */
final class Metrics {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private Metrics() {}

  static Map<String, Double> scrape(int port) {
    Map<String, Double> out = new HashMap<>();
    String text;
    try {
      text = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
          .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
    } catch (IOException e) {
      return out;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return out;
    }
    for (String line : text.split("\n")) {
      if (line.isEmpty() || line.charAt(0) == '#') {
        continue;
      }
      int space = line.lastIndexOf(' ');
      if (space < 0) {
        continue;
      }
      String series = line.substring(0, space);
      double value;
      try {
        value = Double.parseDouble(line.substring(space + 1));
      } catch (NumberFormatException e) {
        continue;
      }
      out.put(series, value);
      int brace = series.indexOf('{');
      if (brace > 0) {
        out.merge(series.substring(0, brace), value, Double::sum);
      }
    }
    return out;
  }
}
