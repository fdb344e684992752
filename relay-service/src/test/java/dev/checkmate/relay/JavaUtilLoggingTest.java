package dev.checkmate.relay;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.logging.Level;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** grpc-java's java.util.logging output goes through logback, at logback's levels. */
class JavaUtilLoggingTest {
  @Test
  void grpcJulLogsReachLogbackAndPerStreamErrorsAreSilenced() {
    RelayMain.routeJavaUtilLogging();
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    ListAppender<ILoggingEvent> seen = new ListAppender<>();
    seen.start();
    root.addAppender(seen);
    try {
      java.util.logging.Logger.getLogger("io.grpc.netty.shaded.io.grpc.netty.Utils").log(Level.WARNING, "a transport warning");
      java.util.logging.Logger.getLogger("io.grpc.netty.shaded.io.grpc.netty.NettyServerHandler")
          .log(Level.WARNING, "Stream Error", new RuntimeException("client cancelled"));
      java.util.logging.Logger.getLogger("io.grpc.internal.SerializingExecutor").log(Level.FINE, "below the level");
    } finally {
      root.detachAppender(seen);
    }
    assertThat(seen.list).extracting(ILoggingEvent::getFormattedMessage)
        .contains("a transport warning")
        .doesNotContain("Stream Error", "below the level");
  }
}
