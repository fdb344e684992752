package dev.checkmate.relay.client.e2e;

import dev.checkmate.relay.client.Role;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Objects;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The keys of a completed handshake: key confirmation, the short authentication string, and
 * AES-256-GCM sealing of application messages into DATA payloads and back.
 *
 * <p>Each direction has its own key and counter. The first DATA frame of a direction has counter
 * 1, and the receiver accepts exactly the next counter: a replayed, reordered, dropped or
 * tampered frame makes {@link #open} throw, and the receiving direction then stays failed.
 *
 * <p>{@link #seal} and {@link #open} may run on different threads; each is serialized on its own
 * lock. {@link #close()} wipes the keys this object holds (best effort: the JDK copies key bytes
 * into its own objects).
 */
public final class E2eChannel implements AutoCloseable {
  private final Role localRole;
  private final Role peerRole;
  private final byte[] transcriptHash;
  private final byte[] sendKey;
  private final byte[] receiveKey;
  private final byte[] localConfirmation;
  private final byte[] expectedPeerMac;
  private final String sas;

  private final Object sendLock = new Object();
  private final Object receiveLock = new Object();
  private long sendCounter; // last counter sent
  private long receiveCounter; // last counter accepted
  private boolean confirmationTaken;
  private boolean peerConfirmed;
  private boolean receiveFailed;
  private volatile boolean closed;

  E2eChannel(Role localRole, KeySchedule ks) {
    this.localRole = localRole;
    this.peerRole = Wire.peerOf(localRole);
    this.transcriptHash = ks.transcriptHash.clone();
    boolean prover = localRole == Role.PROVER;
    this.sendKey = (prover ? ks.keyProverToVerifier : ks.keyVerifierToProver).clone();
    this.receiveKey = (prover ? ks.keyVerifierToProver : ks.keyProverToVerifier).clone();
    int flags = ks.usesPairingSecret ? Wire.FLAG_PAIRING_SECRET : 0;
    byte[] localMac = confirmationMac(prover ? ks.confirmKeyProver : ks.confirmKeyVerifier,
        transcriptHash);
    this.localConfirmation = Wire.concat(Wire.header(E2eMessageType.CONFIRM, localRole, flags),
        localMac);
    this.expectedPeerMac = confirmationMac(prover ? ks.confirmKeyVerifier : ks.confirmKeyProver,
        transcriptHash);
    this.sas = sasOf(ks.sasBytes);
  }

  static byte[] confirmationMac(byte[] key, byte[] th) {
    return Hkdf.hmac(key, Wire.LABEL_CONFIRM, th);
  }

  static String sasOf(byte[] sasBytes) {
    long v = ((sasBytes[0] & 0xffL) << 24) | ((sasBytes[1] & 0xffL) << 16)
        | ((sasBytes[2] & 0xffL) << 8) | (sasBytes[3] & 0xffL);
    return String.format("%06d", v % 1_000_000L);
  }

  /** This side's role. */
  public Role localRole() {
    return localRole;
  }

  /**
   * The transcript hash TH (32 bytes, not secret): binds session id, both roles, both public keys
   * and the pairing mode. Usable as a channel binding by the application.
   */
  public byte[] transcriptHash() {
    return transcriptHash.clone();
  }

  /**
   * Message 3, the CONFIRM payload (36 bytes): send it before any DATA frame. Calling it enables
   * {@link #seal}.
   */
  public byte[] localConfirmation() {
    synchronized (sendLock) {
      confirmationTaken = true;
      return localConfirmation.clone();
    }
  }

  /**
   * Checks the peer's CONFIRM payload. Must succeed before {@link #open} accepts DATA frames.
   *
   * @throws E2eException KEY_CONFIRMATION_FAILED when the peer derived other keys: a wrong or
   *     missing pairing secret, another session id, or a relay-in-the-middle; or a header check
   */
  public void verifyPeerConfirmation(byte[] peerConfirmation) {
    synchronized (receiveLock) {
      checkReceivable();
      if (peerConfirmed) {
        receiveFailed = true;
        throw new E2eException(E2eException.Check.UNEXPECTED_MESSAGE,
            "peer CONFIRM received twice");
      }
      try {
        Wire.checkHeader(peerConfirmation, E2eMessageType.CONFIRM, peerRole,
            localConfirmation[3] & 0xff, Wire.CONFIRM_LEN, Wire.CONFIRM_LEN);
        byte[] mac = Arrays.copyOfRange(peerConfirmation, Wire.HEADER_LEN, Wire.CONFIRM_LEN);
        if (!MessageDigest.isEqual(mac, expectedPeerMac)) {
          throw new E2eException(E2eException.Check.KEY_CONFIRMATION_FAILED,
              "key confirmation failed: the peer derived different keys (wrong pairing secret,"
                  + " different session id, or a relay-in-the-middle replaced the handshake)");
        }
      } catch (E2eException e) {
        receiveFailed = true;
        throw e;
      }
      peerConfirmed = true;
    }
  }

  /** Whether {@link #verifyPeerConfirmation} succeeded. */
  public boolean peerConfirmed() {
    synchronized (receiveLock) {
      return peerConfirmed;
    }
  }

  /**
   * The short authentication string: 6 decimal digits, equal on both sides exactly when both
   * derived the same keys. Without a pairing secret, show it to both users and let them compare it
   * (e.g. read aloud) before trusting the channel; a relay-in-the-middle makes them differ.
   */
  public String shortAuthenticationString() {
    return sas;
  }

  /**
   * Seals one application message into a DATA payload (plaintext length + 28 bytes).
   *
   * @throws IllegalStateException before {@link #localConfirmation()} was taken
   * @throws E2eException CLOSED after {@link #close()}, COUNTER_EXHAUSTED after 2^32 - 1 frames
   */
  public byte[] seal(byte[] plaintext) {
    Objects.requireNonNull(plaintext, "plaintext");
    synchronized (sendLock) {
      if (closed) {
        throw new E2eException(E2eException.Check.CLOSED, "channel is closed");
      }
      if (!confirmationTaken) {
        throw new IllegalStateException("send localConfirmation() before the first DATA frame");
      }
      if (sendCounter >= Wire.MAX_COUNTER) {
        throw new E2eException(E2eException.Check.COUNTER_EXHAUSTED,
            "this direction used all " + Wire.MAX_COUNTER + " frame counters; start a new session");
      }
      long counter = sendCounter + 1;
      byte[] out = new byte[Wire.DATA_HEADER_LEN + plaintext.length + Wire.TAG_LEN];
      byte[] header = Wire.header(E2eMessageType.DATA, localRole, 0);
      System.arraycopy(header, 0, out, 0, Wire.HEADER_LEN);
      Wire.putU64(out, Wire.HEADER_LEN, counter);
      try {
        Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
        c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(sendKey, "AES"),
            new GCMParameterSpec(Wire.TAG_LEN * 8, nonce(counter)));
        c.updateAAD(aad(out));
        int n = c.doFinal(plaintext, 0, plaintext.length, out, Wire.DATA_HEADER_LEN);
        if (n != plaintext.length + Wire.TAG_LEN) {
          throw new IllegalStateException("unexpected AES-GCM output length");
        }
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("AES-GCM unavailable", e);
      }
      sendCounter = counter;
      return out;
    }
  }

  /**
   * Opens the peer's next DATA payload.
   *
   * @throws E2eException COUNTER_MISMATCH on replay, reorder or a dropped frame;
   *     AUTHENTICATION_FAILED on a tampered frame; UNEXPECTED_MESSAGE before the peer's CONFIRM
   *     was verified; MALFORMED / ROLE_MISMATCH / UNSUPPORTED_VERSION on a bad header; CLOSED
   *     after close() or an earlier failure
   */
  public byte[] open(byte[] frame) {
    synchronized (receiveLock) {
      checkReceivable();
      try {
        if (!peerConfirmed) {
          throw new E2eException(E2eException.Check.UNEXPECTED_MESSAGE,
              "DATA frame before the peer's key confirmation was verified");
        }
        Wire.checkHeader(frame, E2eMessageType.DATA, peerRole, 0, -1,
            Wire.DATA_HEADER_LEN + Wire.TAG_LEN);
        long counter = Wire.getU64(frame, Wire.HEADER_LEN);
        long expected = receiveCounter + 1;
        if (counter != expected) {
          String why = Long.compareUnsigned(counter, expected) < 0
              ? "replayed or reordered frame" : "frame(s) dropped or reordered";
          throw new E2eException(E2eException.Check.COUNTER_MISMATCH,
              why + ": expected counter " + expected + ", got " + Long.toUnsignedString(counter));
        }
        if (counter > Wire.MAX_COUNTER) {
          throw new E2eException(E2eException.Check.COUNTER_EXHAUSTED,
              "peer exceeded " + Wire.MAX_COUNTER + " frames");
        }
        byte[] plaintext;
        try {
          Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
          c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(receiveKey, "AES"),
              new GCMParameterSpec(Wire.TAG_LEN * 8, nonce(counter)));
          c.updateAAD(aad(frame));
          plaintext = c.doFinal(frame, Wire.DATA_HEADER_LEN, frame.length - Wire.DATA_HEADER_LEN);
        } catch (AEADBadTagException e) {
          throw new E2eException(E2eException.Check.AUTHENTICATION_FAILED,
              "DATA frame " + counter + " failed authentication (tampered header or ciphertext,"
                  + " or keys of another session)");
        } catch (GeneralSecurityException e) {
          throw new IllegalStateException("AES-GCM unavailable", e);
        }
        receiveCounter = counter;
        return plaintext;
      } catch (E2eException e) {
        receiveFailed = true;
        throw e;
      }
    }
  }

  private void checkReceivable() {
    if (closed) {
      throw new E2eException(E2eException.Check.CLOSED, "channel is closed");
    }
    if (receiveFailed) {
      throw new E2eException(E2eException.Check.CLOSED,
          "receiving direction failed earlier; end the session");
    }
  }

  /** Nonce = 4 zero bytes || u64be(counter). */
  static byte[] nonce(long counter) {
    byte[] n = new byte[Wire.NONCE_LEN];
    Wire.putU64(n, 4, counter);
    return n;
  }

  /** AAD = the 12-byte DATA header (version, type, sender role, flags, counter) || TH. */
  private byte[] aad(byte[] frame) {
    return Wire.concat(Arrays.copyOfRange(frame, 0, Wire.DATA_HEADER_LEN), transcriptHash);
  }

  /** Frames sealed so far in the sending direction (= the last counter used). */
  public long sentFrames() {
    synchronized (sendLock) {
      return sendCounter;
    }
  }

  /** Frames opened so far in the receiving direction (= the last counter accepted). */
  public long receivedFrames() {
    synchronized (receiveLock) {
      return receiveCounter;
    }
  }

  /** Wipes the keys; further seal/open throw CLOSED. */
  @Override
  public void close() {
    synchronized (sendLock) {
      synchronized (receiveLock) {
        closed = true;
        Arrays.fill(sendKey, (byte) 0);
        Arrays.fill(receiveKey, (byte) 0);
        Arrays.fill(expectedPeerMac, (byte) 0);
      }
    }
  }

  @Override
  public String toString() {
    return "E2eChannel{role=" + localRole + ", sent=" + sendCounter + ", received="
        + receiveCounter + ", peerConfirmed=" + peerConfirmed + ", closed=" + closed + "}";
  }
}
