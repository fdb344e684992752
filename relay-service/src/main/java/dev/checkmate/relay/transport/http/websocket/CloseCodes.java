package dev.checkmate.relay.transport.http.websocket;

import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.error.RelayException;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;

/**
 * How a WebSocket stream ends: the close code for a gRPC status (the table is in relay.proto's
 * header comment) and a close reason that fits the 123 bytes RFC 6455 allows.
 */
public final class CloseCodes {
  public static final int NORMAL = 1000;
  public static final int GOING_AWAY = 1001;
  public static final int UNSUPPORTED_DATA = 1003;
  public static final int MESSAGE_TOO_BIG = 1009;
  public static final int INTERNAL_ERROR = 1011;
  public static final int SERVICE_RESTART = 1012;
  /**
   * A new connection refused while the relay drains (UNAVAILABLE before any session state). Not
   * 1012: some clients (the JDK's) reject a 1012 that arrives right after the handshake.
   */
  public static final int DRAINING = 4503;
  public static final int ORIGIN_NOT_ALLOWED = RelayError.NOT_AUTHORIZED.webSocketCloseCode();

  private static final int MAX_REASON_BYTES = 123;

  private CloseCodes() {}

  /**
   * The close code for a status. A status built by {@link RelayError#toStatus} whose cause is the
   * {@link RelayException} keeps its exact code (e.g. 4413 vs 4429); otherwise the code follows
   * the status code, and RESOURCE_EXHAUSTED means 4429 unless the caller knows better.
   */
  public static int forStatus(Status status) {
    if (status.getCause() instanceof RelayException e) {
      return e.error().webSocketCloseCode();
    }
    return switch (status.getCode()) {
      case OK -> NORMAL;
      case INVALID_ARGUMENT -> RelayError.MALFORMED.webSocketCloseCode();
      case UNAUTHENTICATED -> RelayError.BAD_TICKET.webSocketCloseCode();
      case PERMISSION_DENIED -> RelayError.NOT_AUTHORIZED.webSocketCloseCode();
      case DEADLINE_EXCEEDED -> RelayError.HELLO_TIMEOUT.webSocketCloseCode();
      // Before Joined only a role conflict (ALREADY_EXISTS) happens; after it only ABORTED. Same
      // meaning as HTTP 409 for both: the role is someone else's now.
      case ALREADY_EXISTS, ABORTED -> RelayError.ROLE_TAKEN.webSocketCloseCode();
      case FAILED_PRECONDITION -> RelayError.SESSION_ENDED.webSocketCloseCode();
      case RESOURCE_EXHAUSTED -> RelayError.RATE_LIMITED.webSocketCloseCode();
      case UNAVAILABLE -> SERVICE_RESTART;
      case CANCELLED -> GOING_AWAY;
      default -> INTERNAL_ERROR;
    };
  }

  /** The status description as a close reason, cut on a character boundary to 123 UTF-8 bytes. */
  public static String reason(Status status) {
    String text = status.getDescription();
    if (text == null || text.isEmpty()) {
      text = status.isOk() ? "session ended" : status.getCode().name();
    }
    return truncate(text);
  }

  static String truncate(String text) {
    byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
    if (utf8.length <= MAX_REASON_BYTES) {
      return text;
    }
    int end = text.length();
    while (end > 0 && text.substring(0, end).getBytes(StandardCharsets.UTF_8).length > MAX_REASON_BYTES - 3) {
      end--;
      if (end > 0 && Character.isLowSurrogate(text.charAt(end))) {
        end--;
      }
    }
    return text.substring(0, end) + "...";
  }
}
