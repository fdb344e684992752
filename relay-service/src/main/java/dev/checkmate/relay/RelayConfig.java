package dev.checkmate.relay;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Everything a relay node is configured with, validated once at startup and immutable afterwards.
 * Built from CLI flags and {@code RELAY_*} environment variables by {@link RelayMain}, or directly
 * with {@link #builder()} in tests and embedding code.
 */
public final class RelayConfig {
  private final String bindAddress;
  private final int grpcPort;
  private final Path tlsCertificate;
  private final Path tlsPrivateKey;
  private final boolean insecurePlaintext;
  private final Path signingKey;
  private final Path verifyKeys;
  private final List<String> issuerKeys;
  private final String audience;
  private final List<String> publicEndpoints;
  private final Duration defaultSessionTtl;
  private final Duration maxSessionTtl;
  private final Duration joinDeadline;
  private final Duration idleTimeout;
  private final Duration helloTimeout;
  private final int rendezvousMaxFrames;
  private final int rendezvousMaxBytes;
  private final int maxFrameBytes;
  private final int maxFramesPerSecond;
  private final long maxBytesPerSecond;
  private final int maxStreamsPerAddress;
  private final int flowControlWindow;
  private final Duration preStopDelay;
  private final Duration drainTimeout;
  private final Duration sweepInterval;
  private final Duration clockSkew;

  private RelayConfig(Builder b) {
    this.bindAddress = b.bindAddress;
    this.grpcPort = b.grpcPort;
    this.tlsCertificate = b.tlsCertificate;
    this.tlsPrivateKey = b.tlsPrivateKey;
    this.insecurePlaintext = b.insecurePlaintext;
    this.signingKey = b.signingKey;
    this.verifyKeys = b.verifyKeys;
    this.issuerKeys = List.copyOf(b.issuerKeys);
    this.audience = b.audience;
    this.publicEndpoints = List.copyOf(b.publicEndpoints);
    this.defaultSessionTtl = b.defaultSessionTtl;
    this.maxSessionTtl = b.maxSessionTtl;
    this.joinDeadline = b.joinDeadline;
    this.idleTimeout = b.idleTimeout;
    this.helloTimeout = b.helloTimeout;
    this.rendezvousMaxFrames = b.rendezvousMaxFrames;
    this.rendezvousMaxBytes = b.rendezvousMaxBytes;
    this.maxFrameBytes = b.maxFrameBytes;
    this.maxFramesPerSecond = b.maxFramesPerSecond;
    this.maxBytesPerSecond = b.maxBytesPerSecond;
    this.maxStreamsPerAddress = b.maxStreamsPerAddress;
    this.flowControlWindow = b.flowControlWindow;
    this.preStopDelay = b.preStopDelay;
    this.drainTimeout = b.drainTimeout;
    this.sweepInterval = b.sweepInterval;
    this.clockSkew = b.clockSkew;
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder newBuilder() {
    return new Builder(this);
  }

  public String bindAddress() { return bindAddress; }
  public int grpcPort() { return grpcPort; }
  public Optional<Path> tlsCertificate() { return Optional.ofNullable(tlsCertificate); }
  public Optional<Path> tlsPrivateKey() { return Optional.ofNullable(tlsPrivateKey); }
  public boolean tlsEnabled() { return tlsCertificate != null; }
  public boolean insecurePlaintext() { return insecurePlaintext; }
  public Optional<Path> signingKey() { return Optional.ofNullable(signingKey); }
  public Optional<Path> verifyKeys() { return Optional.ofNullable(verifyKeys); }
  public List<String> issuerKeys() { return issuerKeys; }
  public String audience() { return audience; }
  public List<String> publicEndpoints() { return publicEndpoints; }
  public Duration defaultSessionTtl() { return defaultSessionTtl; }
  public Duration maxSessionTtl() { return maxSessionTtl; }
  public Duration joinDeadline() { return joinDeadline; }
  public Duration idleTimeout() { return idleTimeout; }
  public Duration helloTimeout() { return helloTimeout; }
  public int rendezvousMaxFrames() { return rendezvousMaxFrames; }
  public int rendezvousMaxBytes() { return rendezvousMaxBytes; }
  public int maxFrameBytes() { return maxFrameBytes; }
  public int maxFramesPerSecond() { return maxFramesPerSecond; }
  public long maxBytesPerSecond() { return maxBytesPerSecond; }
  public int maxStreamsPerAddress() { return maxStreamsPerAddress; }
  public int flowControlWindow() { return flowControlWindow; }
  public Duration preStopDelay() { return preStopDelay; }
  public Duration drainTimeout() { return drainTimeout; }
  public Duration sweepInterval() { return sweepInterval; }
  public Duration clockSkew() { return clockSkew; }

  /** True when the bind address only accepts connections from this machine. */
  public boolean loopbackOnly() {
    try {
      return InetAddress.getByName(bindAddress).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  public static final class Builder {
    private String bindAddress = "127.0.0.1";
    private int grpcPort = 9090;
    private Path tlsCertificate;
    private Path tlsPrivateKey;
    private boolean insecurePlaintext;
    private Path signingKey;
    private Path verifyKeys;
    private List<String> issuerKeys = List.of();
    private String audience = "checkmate-relay";
    private List<String> publicEndpoints = List.of();
    private Duration defaultSessionTtl = Duration.ofMinutes(10);
    private Duration maxSessionTtl = Duration.ofHours(1);
    private Duration joinDeadline = Duration.ofSeconds(30);
    private Duration idleTimeout = Duration.ofMinutes(5);
    private Duration helloTimeout = Duration.ofSeconds(10);
    private int rendezvousMaxFrames = 64;
    private int rendezvousMaxBytes = 256 * 1024;
    private int maxFrameBytes = 64 * 1024;
    private int maxFramesPerSecond = 2_000;
    private long maxBytesPerSecond = 8L * 1024 * 1024;
    private int maxStreamsPerAddress = 100;
    private int flowControlWindow = 256 * 1024;
    private Duration preStopDelay = Duration.ZERO;
    private Duration drainTimeout = Duration.ofSeconds(30);
    private Duration sweepInterval = Duration.ofMillis(250);
    private Duration clockSkew = Duration.ofSeconds(30);

    private Builder() {}

    private Builder(RelayConfig c) {
      bindAddress = c.bindAddress;
      grpcPort = c.grpcPort;
      tlsCertificate = c.tlsCertificate;
      tlsPrivateKey = c.tlsPrivateKey;
      insecurePlaintext = c.insecurePlaintext;
      signingKey = c.signingKey;
      verifyKeys = c.verifyKeys;
      issuerKeys = c.issuerKeys;
      audience = c.audience;
      publicEndpoints = c.publicEndpoints;
      defaultSessionTtl = c.defaultSessionTtl;
      maxSessionTtl = c.maxSessionTtl;
      joinDeadline = c.joinDeadline;
      idleTimeout = c.idleTimeout;
      helloTimeout = c.helloTimeout;
      rendezvousMaxFrames = c.rendezvousMaxFrames;
      rendezvousMaxBytes = c.rendezvousMaxBytes;
      maxFrameBytes = c.maxFrameBytes;
      maxFramesPerSecond = c.maxFramesPerSecond;
      maxBytesPerSecond = c.maxBytesPerSecond;
      maxStreamsPerAddress = c.maxStreamsPerAddress;
      flowControlWindow = c.flowControlWindow;
      preStopDelay = c.preStopDelay;
      drainTimeout = c.drainTimeout;
      sweepInterval = c.sweepInterval;
      clockSkew = c.clockSkew;
    }

    public Builder bindAddress(String v) { bindAddress = Objects.requireNonNull(v); return this; }
    public Builder grpcPort(int v) { grpcPort = v; return this; }
    public Builder tlsCertificate(Path v) { tlsCertificate = v; return this; }
    public Builder tlsPrivateKey(Path v) { tlsPrivateKey = v; return this; }
    public Builder insecurePlaintext(boolean v) { insecurePlaintext = v; return this; }
    public Builder signingKey(Path v) { signingKey = v; return this; }
    public Builder verifyKeys(Path v) { verifyKeys = v; return this; }
    public Builder issuerKeys(List<String> v) { issuerKeys = List.copyOf(v); return this; }
    public Builder audience(String v) { audience = Objects.requireNonNull(v); return this; }
    public Builder publicEndpoints(List<String> v) { publicEndpoints = List.copyOf(v); return this; }
    public Builder defaultSessionTtl(Duration v) { defaultSessionTtl = v; return this; }
    public Builder maxSessionTtl(Duration v) { maxSessionTtl = v; return this; }
    public Builder joinDeadline(Duration v) { joinDeadline = v; return this; }
    public Builder idleTimeout(Duration v) { idleTimeout = v; return this; }
    public Builder helloTimeout(Duration v) { helloTimeout = v; return this; }
    public Builder rendezvousMaxFrames(int v) { rendezvousMaxFrames = v; return this; }
    public Builder rendezvousMaxBytes(int v) { rendezvousMaxBytes = v; return this; }
    public Builder maxFrameBytes(int v) { maxFrameBytes = v; return this; }
    public Builder maxFramesPerSecond(int v) { maxFramesPerSecond = v; return this; }
    public Builder maxBytesPerSecond(long v) { maxBytesPerSecond = v; return this; }
    public Builder maxStreamsPerAddress(int v) { maxStreamsPerAddress = v; return this; }
    public Builder flowControlWindow(int v) { flowControlWindow = v; return this; }
    public Builder preStopDelay(Duration v) { preStopDelay = v; return this; }
    public Builder drainTimeout(Duration v) { drainTimeout = v; return this; }
    public Builder sweepInterval(Duration v) { sweepInterval = v; return this; }
    public Builder clockSkew(Duration v) { clockSkew = v; return this; }

    /** Validates and freezes the configuration; a bad value fails here, at startup, with a clear message. */
    public RelayConfig build() {
      require(grpcPort >= 0 && grpcPort <= 65535, "grpc port must be 0..65535, got " + grpcPort);
      require((tlsCertificate == null) == (tlsPrivateKey == null),
          "TLS needs both a certificate (--tls-cert) and a private key (--tls-key)");
      require(positive(defaultSessionTtl) && positive(maxSessionTtl) && defaultSessionTtl.compareTo(maxSessionTtl) <= 0,
          "session ttl: default must be positive and at most the maximum");
      require(positive(joinDeadline), "join deadline must be positive");
      require(positive(idleTimeout), "idle timeout must be positive");
      require(positive(helloTimeout), "hello timeout must be positive");
      require(rendezvousMaxFrames >= 1, "rendezvous buffer must hold at least one frame");
      require(rendezvousMaxBytes >= maxFrameBytes, "rendezvous buffer bytes must be at least the max frame size");
      require(maxFrameBytes >= 1 && maxFrameBytes <= 16 * 1024 * 1024, "max frame size must be 1 B..16 MiB");
      require(maxFramesPerSecond >= 1, "frames per second limit must be at least 1");
      require(maxBytesPerSecond >= maxFrameBytes, "bytes per second limit must be at least the max frame size");
      require(maxStreamsPerAddress >= 1, "streams per address limit must be at least 1");
      require(flowControlWindow >= 16 * 1024, "flow-control window must be at least 16 KiB");
      require(!drainTimeout.isNegative() && !preStopDelay.isNegative(), "drain durations must not be negative");
      require(positive(sweepInterval), "sweep interval must be positive");
      require(issuerKeys.stream().allMatch(k -> k.length() >= 16), "issuer API keys must be at least 16 characters");
      return new RelayConfig(this);
    }

    private static boolean positive(Duration d) {
      return d != null && !d.isNegative() && !d.isZero();
    }

    private static void require(boolean ok, String message) {
      if (!ok) {
        throw new IllegalArgumentException(message);
      }
    }
  }
}
