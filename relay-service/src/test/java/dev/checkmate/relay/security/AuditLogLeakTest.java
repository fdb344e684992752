package dev.checkmate.relay.security;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.DATA;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/** Whatever the relay logs (every logger, every level) never contains a ticket or payload bytes. */
@Timeout(60)
class AuditLogLeakTest {

  @Test
  void logsNeverContainTicketsOrPayloads() throws Exception {
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    Level before = root.getLevel();
    ListAppender<ILoggingEvent> capture = new ListAppender<>();
    capture.setContext(ctx);
    capture.start();
    root.addAppender(capture);
    root.setLevel(Level.DEBUG);
    String marker = "PAYLOAD-MARKER-7f3a9c";
    List<String> secrets = new ArrayList<>();
    try (TestRelay relay = TestRelay.start()) {
      CreateSessionResponse s = relay.createSession();
      secrets.add(s.getProverTicket());
      secrets.add(s.getVerifierTicket());
      // The signature part alone is also secret-ish: no log may carry it either.
      secrets.add(s.getProverTicket().substring(s.getProverTicket().lastIndexOf('.') + 1));
      try (TestPeer p = relay.join(s.getProverTicket()); TestPeer v = relay.join(s.getVerifierTicket())) {
        p.next(JOINED);
        v.next(JOINED);
        p.sendData(marker.getBytes(StandardCharsets.UTF_8));
        assertThat(v.next(DATA).getData().getPayload().toStringUtf8()).isEqualTo(marker);
        // A forged ticket is logged as a rejection, without the ticket.
        String forged = s.getVerifierTicket().substring(0, s.getVerifierTicket().length() - 4) + "AAAA";
        secrets.add(forged);
        try (TestPeer bad = relay.join(forged)) {
          bad.awaitClose();
        }
        p.terminate("done " + marker.substring(0, 4));
        v.next(dev.checkmate.relay.proto.v1.ServerMessage.KindCase.SESSION_ENDED);
      }
    } finally {
      root.detachAppender(capture);
      root.setLevel(before);
    }
    assertThat(capture.list).isNotEmpty();
    for (ILoggingEvent e : capture.list) {
      StringBuilder all = new StringBuilder(e.getFormattedMessage());
      if (e.getKeyValuePairs() != null) {
        e.getKeyValuePairs().forEach(kv -> all.append(' ').append(kv.key).append('=').append(kv.value));
      }
      all.append(' ').append(e.getMDCPropertyMap());
      if (e.getThrowableProxy() != null) {
        all.append(ThrowableProxyUtil.asString(e.getThrowableProxy()));
      }
      String text = all.toString();
      assertThat(text).as("log line from %s", e.getLoggerName()).doesNotContain(marker);
      for (String secret : secrets) {
        assertThat(text).as("log line from %s", e.getLoggerName()).doesNotContain(secret);
      }
    }
  }
}
