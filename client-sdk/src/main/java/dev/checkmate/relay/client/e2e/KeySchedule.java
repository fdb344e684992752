package dev.checkmate.relay.client.e2e;

import java.util.Arrays;

/** The v1 key schedule (docs/e2e-protocol.md, "Key schedule"). Holds secrets: wipe after use. */
final class KeySchedule {
  final boolean usesPairingSecret;
  final byte[] transcriptHash;
  final byte[] sharedSecret;
  final byte[] prk;
  final byte[] keyProverToVerifier;
  final byte[] keyVerifierToProver;
  final byte[] confirmKeyProver;
  final byte[] confirmKeyVerifier;
  final byte[] sasBytes;

  private KeySchedule(boolean usesPairingSecret, byte[] th, byte[] shared, byte[] prk) {
    this.usesPairingSecret = usesPairingSecret;
    this.transcriptHash = th;
    this.sharedSecret = shared.clone();
    this.prk = prk;
    this.keyProverToVerifier = expand(Wire.INFO_KEY_P2V, 32);
    this.keyVerifierToProver = expand(Wire.INFO_KEY_V2P, 32);
    this.confirmKeyProver = expand(Wire.INFO_CONFIRM_PROVER, 32);
    this.confirmKeyVerifier = expand(Wire.INFO_CONFIRM_VERIFIER, 32);
    this.sasBytes = expand(Wire.INFO_SAS, 4);
  }

  /**
   * TH = SHA-256("CheckMate-E2E-v1 transcript" || u16be(len sid) || sid || proverHello ||
   * verifierHello); PRK = HKDF-Extract(salt = pairing secret or 32 zero bytes, IKM = X25519 shared
   * secret); every key = HKDF-Expand(PRK, ascii(label) || TH, L).
   */
  static KeySchedule derive(byte[] sessionId, byte[] proverHello, byte[] verifierHello,
      byte[] sharedSecret, byte[] pairingSecret) {
    byte[] th = transcriptHash(sessionId, proverHello, verifierHello);
    byte[] prk = Hkdf.extract(pairingSecret, sharedSecret);
    return new KeySchedule(pairingSecret != null, th, sharedSecret, prk);
  }

  static byte[] transcriptHash(byte[] sessionId, byte[] proverHello, byte[] verifierHello) {
    return Wire.sha256(Wire.LABEL_TRANSCRIPT, Wire.u16(sessionId.length), sessionId,
        proverHello, verifierHello);
  }

  private byte[] expand(String label, int len) {
    return Hkdf.expand(prk, Wire.concat(Wire.ascii(label), transcriptHash), len);
  }

  void wipe() {
    for (byte[] b : new byte[][] {sharedSecret, prk, keyProverToVerifier, keyVerifierToProver,
        confirmKeyProver, confirmKeyVerifier, sasBytes}) {
      Arrays.fill(b, (byte) 0);
    }
  }
}
