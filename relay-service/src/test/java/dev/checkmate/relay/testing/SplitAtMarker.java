package dev.checkmate.relay.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

/**
 * What a peer received in order — payloads as text, with exactly one marker among them (e.g. a
 * restart report) — split at the marker. Fails the test unless there is exactly one.
 *
 * @param before the payloads before the marker
 * @param marker the marker
 * @param after the payloads after it
 */
public record SplitAtMarker<M>(List<String> before, M marker, List<String> after) {
  public static <M> SplitAtMarker<M> of(List<?> received, Class<M> markerType) {
    int at = -1;
    for (int i = 0; i < received.size(); i++) {
      if (markerType.isInstance(received.get(i))) {
        assertThat(at).as("exactly one " + markerType.getSimpleName()).isEqualTo(-1);
        at = i;
      }
    }
    assertThat(at).as("a " + markerType.getSimpleName() + " among " + received.size() + " items").isNotNegative();
    List<String> before = new ArrayList<>();
    received.subList(0, at).forEach(o -> before.add((String) o));
    List<String> after = new ArrayList<>();
    received.subList(at + 1, received.size()).forEach(o -> after.add((String) o));
    return new SplitAtMarker<>(before, markerType.cast(received.get(at)), after);
  }
}
