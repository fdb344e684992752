package dev.checkmate.relay.security;

/**
 * The only way a refusal repeats something the client sent: at most {@link #MAX_CHARS} printable
 * ASCII characters, so an unauthenticated client cannot make the relay amplify or reflect its
 * input (into responses, close reasons or logs).
 */
public final class Echo {
  public static final int MAX_CHARS = 16;

  private Echo() {}

  /** The client's text, cut to 16 printable ASCII characters ("..." marks a cut; "?" a replaced character). */
  public static String of(String clientText) {
    if (clientText == null) {
      return "(none)";
    }
    StringBuilder sb = new StringBuilder(MAX_CHARS + 3);
    int n = Math.min(clientText.length(), MAX_CHARS);
    for (int i = 0; i < n; i++) {
      char c = clientText.charAt(i);
      sb.append(c >= 0x20 && c < 0x7f ? c : '?');
    }
    if (clientText.length() > MAX_CHARS) {
      sb.append("...");
    }
    return sb.toString();
  }
}
