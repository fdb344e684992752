package dev.checkmate.relay.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The cutting proxy the resume tests and the soak put in front of relays behaves like a network
 * path: a connection to a relay that is down ends, and one made once the relay is back goes through.
 */
class CuttableProxyTest {
  private static final int READ_TIMEOUT_MILLIS = 10_000;

  @Test
  void aConnectionMadeWhileTheRelayIsDownIsClosedThenTheNextOneGoesThroughOnceItIsBack() throws Exception {
    int port;
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = probe.getLocalPort(); // free again once closed: nothing listens there
    }
    try (CuttableProxy proxy = new CuttableProxy(port)) {
      try (Socket client = connect(proxy)) {
        client.getOutputStream().write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        try {
          assertEquals(-1, client.getInputStream().read(), "the proxy answered for a relay that is down");
        } catch (SocketTimeoutException e) {
          fail("the proxy kept a connection to a relay that is down open for " + READ_TIMEOUT_MILLIS
              + " ms: a gRPC client would wait on it for every later call");
        } catch (java.net.SocketException reset) {
          // a reset ends the connection too
        }
      }

      // The relay comes back on the same port (as a restarted node does): the path works again.
      try (ServerSocket relay = new ServerSocket(port, 50, InetAddress.getLoopbackAddress());
          Socket client = connect(proxy)) {
        try (Socket accepted = relay.accept()) {
          accepted.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
          InputStream in = client.getInputStream();
          assertArrayEquals("hello".getBytes(StandardCharsets.US_ASCII), in.readNBytes(5));
        }
      }
    }
  }

  private static Socket connect(CuttableProxy proxy) throws Exception {
    Socket s = new Socket(InetAddress.getLoopbackAddress(), proxy.port());
    s.setSoTimeout(READ_TIMEOUT_MILLIS);
    return s;
  }
}
