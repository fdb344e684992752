package dev.checkmate.relay.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * A client that behaves as badly as a test asks: a raw TCP socket from a chosen loopback address
 * with a small receive buffer, that writes without ever blocking (what the kernel will not take
 * waits in a local queue) and reads only when told. Speaks just enough HTTP/1.1, WebSocket
 * (RFC 6455, masked client frames) and HTTP/2 (the connection preface) for misbehaving on purpose.
 */
public final class RawSocketClient implements AutoCloseable {
  private static final SecureRandom RANDOM = new SecureRandom();
  public static final byte[] HTTP2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  /** An empty HTTP/2 SETTINGS frame (length 0, type 4, flags 0, stream 0). */
  public static final byte[] HTTP2_EMPTY_SETTINGS = {0, 0, 0, 4, 0, 0, 0, 0, 0};

  private final SocketChannel channel;
  private ByteBuffer backlog = ByteBuffer.allocate(0);
  private long written;

  private RawSocketClient(SocketChannel channel) {
    this.channel = channel;
  }

  /** Connects from {@code fromIp} (any 127.x.y.z on Linux) with the given receive buffer (0 = default). */
  public static RawSocketClient connect(String fromIp, int port, int receiveBuffer) throws IOException {
    SocketChannel ch = SocketChannel.open();
    if (receiveBuffer > 0) {
      ch.setOption(StandardSocketOptions.SO_RCVBUF, receiveBuffer);
    }
    ch.bind(new InetSocketAddress(fromIp, 0));
    ch.connect(new InetSocketAddress("127.0.0.1", port));
    ch.configureBlocking(false);
    return new RawSocketClient(ch);
  }

  /** Writes what the socket takes now; the rest waits for the next call. True when nothing is left over. */
  public boolean offer(byte[] bytes) throws IOException {
    flush();
    if (backlog.hasRemaining()) {
      return false;
    }
    ByteBuffer b = ByteBuffer.wrap(bytes);
    written += channel.write(b);
    if (b.hasRemaining()) {
      backlog = b;
      return false;
    }
    return true;
  }

  /** Pushes queued bytes; true when none are left. */
  public boolean flush() throws IOException {
    if (backlog.hasRemaining()) {
      written += channel.write(backlog);
    }
    return !backlog.hasRemaining();
  }

  /** Sends FIN: this client will write nothing more (a half-open connection from the relay's side). */
  public void shutdownOutput() throws IOException {
    channel.shutdownOutput();
  }

  /** Bytes the kernel accepted from this client so far. */
  public long written() {
    return written;
  }

  private boolean eof;

  /** Reads whatever arrives within {@code millis} (or until the peer closes); what was read. */
  public byte[] readFor(long millis) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
    long deadline = System.currentTimeMillis() + millis;
    try (Selector sel = Selector.open()) {
      channel.register(sel, SelectionKey.OP_READ);
      do {
        long left = deadline - System.currentTimeMillis();
        if (left > 0) {
          sel.select(left);
        } else {
          sel.selectNow();
        }
        sel.selectedKeys().clear();
        int n;
        try {
          n = channel.read(buf);
        } catch (IOException reset) {
          eof = true;
          break;
        }
        if (n < 0) {
          eof = true;
          break;
        }
        out.write(buf.array(), 0, buf.position());
        buf.clear();
      } while (!eof && System.currentTimeMillis() < deadline);
    }
    return out.toByteArray();
  }

  /** True once the peer closed the connection (seen by a read). */
  public boolean closedByPeer() {
    return eof;
  }

  /**
   * Reads until the server's WebSocket close frame has arrived (or the connection closed), without
   * answering it; fails after {@code timeoutMillis}.
   */
  public byte[] readUntilWebSocketClose(long timeoutMillis) throws IOException {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    long deadline = System.currentTimeMillis() + timeoutMillis;
    while (System.currentTimeMillis() < deadline) {
      all.write(readFor(20));
      if (eof || wsCloseCode(all.toByteArray()) != -1) {
        return all.toByteArray();
      }
    }
    throw new IOException("no close frame within " + timeoutMillis + " ms (" + all.size() + " bytes read)");
  }

  /** Reads whatever arrives until the peer closes; fails if it is still open after {@code timeoutMillis}. */
  public byte[] readUntilClosed(long timeoutMillis) throws IOException {
    byte[] got = readFor(timeoutMillis);
    if (!eof) {
      throw new IOException("still open after " + timeoutMillis + " ms (" + got.length + " bytes read)");
    }
    return got;
  }

  /** True once the peer has closed the connection (reads EOF or a reset), waiting up to {@code timeoutMillis}. */
  public boolean closedByPeerWithin(long timeoutMillis) {
    try {
      readUntilClosed(timeoutMillis);
      return true;
    } catch (IOException stillOpen) {
      return false;
    }
  }

  /** Reads the response head of an HTTP/1.1 upgrade or request (blocking up to 5 s). */
  public String readHead() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteBuffer one = ByteBuffer.allocate(1);
    long deadline = System.currentTimeMillis() + 5000;
    try (Selector sel = Selector.open()) {
      channel.register(sel, SelectionKey.OP_READ);
      while (System.currentTimeMillis() < deadline) {
        sel.select(100);
        sel.selectedKeys().clear();
        int n;
        while ((n = channel.read(one)) > 0) {
          out.write(one.get(0));
          one.clear();
          String s = out.toString(StandardCharsets.ISO_8859_1);
          if (s.endsWith("\r\n\r\n")) {
            return s;
          }
        }
        if (n < 0) {
          throw new IOException("closed during the response head: " + out.toString(StandardCharsets.ISO_8859_1));
        }
      }
    }
    throw new IOException("no complete response head within 5 s");
  }

  /** Sends the WebSocket upgrade for {@code path} and waits for 101. */
  public void upgradeToWebSocket(String path) throws IOException {
    byte[] key = new byte[16];
    RANDOM.nextBytes(key);
    String req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: " + Base64.getEncoder().encodeToString(key) + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    while (!offer(req.getBytes(StandardCharsets.US_ASCII))) {
      sleep(1);
    }
    String head = readHead();
    if (!head.startsWith("HTTP/1.1 101")) {
      throw new IOException("upgrade refused: " + head);
    }
  }

  /** A masked client frame (FIN set unless {@code more}). */
  public static byte[] wsFrame(int opcode, byte[] payload, boolean more) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(payload.length + 14);
    out.write((more ? 0 : 0x80) | opcode);
    if (payload.length < 126) {
      out.write(0x80 | payload.length);
    } else if (payload.length < 65536) {
      out.write(0x80 | 126);
      out.write(payload.length >>> 8);
      out.write(payload.length);
    } else {
      out.write(0x80 | 127);
      for (int i = 7; i >= 0; i--) {
        out.write((int) ((long) payload.length >>> (8 * i)));
      }
    }
    byte[] mask = new byte[4];
    RANDOM.nextBytes(mask);
    out.write(mask, 0, 4);
    for (int i = 0; i < payload.length; i++) {
      out.write(payload[i] ^ mask[i & 3]);
    }
    return out.toByteArray();
  }

  public static byte[] wsBinary(byte[] payload) {
    return wsFrame(2, payload, false);
  }

  public static byte[] wsPing() {
    return wsFrame(9, new byte[] {1, 2, 3, 4}, false);
  }

  /** The close code of the first close frame the server sent in {@code bytes} (unmasked server frames), or -1. */
  public static int wsCloseCode(byte[] bytes) {
    int i = 0;
    while (i + 2 <= bytes.length) {
      int opcode = bytes[i] & 0x0f;
      long len = bytes[i + 1] & 0x7f;
      int hdr = 2;
      if (len == 126) {
        if (i + 4 > bytes.length) {
          return -1;
        }
        len = ((bytes[i + 2] & 0xff) << 8) | (bytes[i + 3] & 0xff);
        hdr = 4;
      } else if (len == 127) {
        if (i + 10 > bytes.length) {
          return -1;
        }
        len = 0;
        for (int k = 0; k < 8; k++) {
          len = (len << 8) | (bytes[i + 2 + k] & 0xff);
        }
        hdr = 10;
      }
      if (opcode == 8) {
        return len >= 2 && i + hdr + 2 <= bytes.length ? ((bytes[i + hdr] & 0xff) << 8) | (bytes[i + hdr + 1] & 0xff) : 1005;
      }
      i += hdr + (int) len;
    }
    return -1;
  }

  /** The close reason of the first close frame in {@code bytes}, or "". */
  public static String wsCloseReason(byte[] bytes) {
    int i = 0;
    while (i + 2 <= bytes.length) {
      int opcode = bytes[i] & 0x0f;
      int len = bytes[i + 1] & 0x7f;
      int hdr = 2;
      if (len == 126) {
        len = ((bytes[i + 2] & 0xff) << 8) | (bytes[i + 3] & 0xff);
        hdr = 4;
      } else if (len == 127) {
        return "";
      }
      if (opcode == 8) {
        return len > 2 ? new String(bytes, i + hdr + 2, Math.min(len - 2, bytes.length - i - hdr - 2), StandardCharsets.UTF_8) : "";
      }
      i += hdr + len;
    }
    return "";
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    try {
      return "RawSocketClient[" + channel.getLocalAddress() + " -> " + channel.getRemoteAddress() + "]";
    } catch (IOException e) {
      return "RawSocketClient[closed]";
    }
  }

  @Override
  public void close() {
    try {
      channel.close();
    } catch (IOException ignored) {
      // already gone
    }
  }
}
