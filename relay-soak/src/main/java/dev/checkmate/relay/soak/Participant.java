package dev.checkmate.relay.soak;

/**
 * One side of a soak session, whatever SDK and wire carries it: the Java SDK over gRPC
 * ({@link JavaPeers}), the browser SDK in Node.js over WebSocket or gRPC-Web ({@link NodePeers}).
 * Everything it learns goes to its {@link Events}; nothing here blocks.
 */
interface Participant {
  /** The wires a participant may use. */
  enum Transport {
    GRPC("grpc"), WEBSOCKET("ws"), GRPC_WEB("grpc-web"), CHROMIUM_WEBSOCKET("chromium-ws"), CHROMIUM_GRPC_WEB("chromium-grpc-web");

    final String label;

    Transport(String label) {
      this.label = label;
    }
  }

  /** What a participant tells its session. Called on SDK threads; implementations must not block. */
  interface Events {
    /** Joined (the relay answered); {@code peerPresent} from the Joined message. */
    void joined(boolean peerPresent);

    /** The join failed; the session may retry elsewhere. */
    void joinFailed(String reason);

    void peerPresent(boolean present);

    void frame(byte[] payload);

    /** This side's connection was lost; the SDK is resuming. */
    void reconnecting(String cause);

    /** The SDK resumed after {@code millis}. */
    void resumed(double millis);

    /** The session is over for this side: {@code reason} is the end reason (e.g. TERMINATED) or the error. */
    void ended(End end);

    /** A frame handed over was never given to the SDK (the session ended first). */
    void dropped(int frames);
  }

  /** How it ended: the relay's end reason when there was one, and the SDK's error (null for a clean end). */
  record End(String reason, String error, String code, String message) {
    boolean clean() {
      return error == null && "TERMINATED".equals(reason);
    }

    /** The relay refused a rejoin: the session had ended meanwhile (FAILED_PRECONDITION, its tickets are dead). */
    boolean refusedAsEnded() {
      return error != null && "FAILED_PRECONDITION".equals(code) && message != null && message.contains("already ended");
    }

    @Override
    public String toString() {
      return (reason == null ? "" : reason) + (error == null ? "" : " " + error + (code == null || code.isEmpty() ? "" : "(" + code + ")"))
          + (message == null || message.isEmpty() ? "" : ": " + message);
    }
  }

  Transport transport();

  /** Hands one frame to the SDK (never blocks). */
  void send(byte[] payload);

  /** True while the SDK holds back (the relay cannot take more): the session waits before sending more. */
  boolean busy();

  /** Ends the session for both sides, after the frames already sent. */
  void terminate(String reason);

  /** Drops this side's stream without ending the session (clean-up after a failure). */
  void close();
}
