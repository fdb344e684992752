package dev.checkmate.relay.cluster;

import io.nats.client.NKey;
import io.nats.client.support.JsonSerializable;
import io.nats.client.support.JwtUtils;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.List;
import java.util.stream.Collectors;

/**
 * NATS decentralized auth (operator mode) for the tests' nats-servers, set up the way docs/cluster.md
 * §7 and deploy/k8s tell operators to: an operator, a RELAY account whose <em>scoped signing key</em>
 * carries the relay node permissions as a template ({@link Subjects#publishAllow} /
 * {@link Subjects#subscribeAllow} with {@code {{name()}}}), and one user per relay node, named by its
 * node id and signed with that key (so the user JWT itself carries no permissions). Plus a system
 * account (gateways), an observer user (reads every relay subject, publishes nothing: an operator's
 * debugging session, or a leaked read-only credential) and a user of another account.
 *
 * <p>One set of keys per test JVM ({@link #get}), shared by every server so routes and gateways
 * agree on who is who. Credentials files are standard {@code .creds} (user JWT + NKey seed).
 */
public final class NatsAccounts {
  private static NatsAccounts instance;

  private record Raw(String json) implements JsonSerializable {
    @Override
    public String toJson() {
      return json;
    }
  }

  private final NKey operator;
  private final NKey relayAccount;
  private final NKey relayNodeSigner;
  private final NKey systemAccount;
  private final NKey otherAccount;
  final String operatorJwt;
  final String relayAccountJwt;
  final String systemAccountJwt;
  final String otherAccountJwt;

  private NatsAccounts() throws GeneralSecurityException, IOException {
    operator = NKey.createOperator(null);
    relayAccount = NKey.createAccount(null);
    relayNodeSigner = NKey.createAccount(null);
    systemAccount = NKey.createAccount(null);
    otherAccount = NKey.createAccount(null);
    String op = pub(operator);
    long now = JwtUtils.currentTimeSeconds();
    operatorJwt = JwtUtils.issueJWT(operator, op, "test-operator", null, now, op, null,
        new Raw("{\"system_account\":\"" + pub(systemAccount) + "\",\"type\":\"operator\",\"version\":2}"));
    String template = "{\"pub\":{\"allow\":" + json(Subjects.publishAllow("{{name()}}")) + "},"
        + "\"sub\":{\"allow\":" + json(Subjects.subscribeAllow("{{name()}}")) + "},\"subs\":-1,\"data\":-1,\"payload\":-1}";
    relayAccountJwt = JwtUtils.issueJWT(operator, pub(relayAccount), "RELAY", null, now, op, null,
        new Raw("{\"limits\":" + UNLIMITED + ",\"signing_keys\":[{\"kind\":\"user_scope\",\"key\":\"" + pub(relayNodeSigner)
            + "\",\"role\":\"relay-node\",\"template\":" + template + "}],\"type\":\"account\",\"version\":2}"));
    systemAccountJwt = JwtUtils.issueJWT(operator, pub(systemAccount), "SYS", null, now, op, null,
        new Raw("{\"limits\":" + UNLIMITED + ",\"type\":\"account\",\"version\":2}"));
    otherAccountJwt = JwtUtils.issueJWT(operator, pub(otherAccount), "OTHER", null, now, op, null,
        new Raw("{\"limits\":" + UNLIMITED + ",\"type\":\"account\",\"version\":2}"));
  }

  /** Users signed with an account key carry their own limits (absent = none allowed); scoped users must carry none. */
  private static final String USER_LIMITS = ",\"subs\":-1,\"data\":-1,\"payload\":-1";
  private static final String UNLIMITED =
      "{\"subs\":-1,\"data\":-1,\"payload\":-1,\"imports\":-1,\"exports\":-1,\"wildcards\":true,\"conn\":-1,\"leaf\":-1}";

  public static synchronized NatsAccounts get() {
    if (instance == null) {
      try {
        instance = new NatsAccounts();
      } catch (GeneralSecurityException | IOException e) {
        throw new IllegalStateException(e);
      }
    }
    return instance;
  }

  /** The server configuration lines that trust this operator and preload its accounts. */
  public String serverConfig() {
    return "operator: " + operatorJwt + "\n"
        + "system_account: " + pub(systemAccount) + "\n"
        + "resolver: MEMORY\n"
        + "resolver_preload: {\n"
        + "  " + pub(relayAccount) + ": " + relayAccountJwt + "\n"
        + "  " + pub(systemAccount) + ": " + systemAccountJwt + "\n"
        + "  " + pub(otherAccount) + ": " + otherAccountJwt + "\n"
        + "}\n";
  }

  /** A relay node's credentials: a user named {@code nodeId}, signed with the scoped key (the template's permissions). */
  public Path nodeCredentials(Path dir, String nodeId) {
    return write(dir, nodeId, relayNodeSigner, pub(relayAccount), "");
  }

  /** Reads every relay subject and inbox, may publish nothing. */
  Path observerCredentials(Path dir) {
    return write(dir, "observer", relayAccount, null,
        ",\"pub\":{\"deny\":[\">\"]},\"sub\":{\"allow\":[\"relay.v1.>\",\"_INBOX.>\"]}" + USER_LIMITS);
  }

  /** A user of another account: shares nothing with the relays. */
  Path otherAccountCredentials(Path dir, String name) {
    return write(dir, name, otherAccount, null, USER_LIMITS);
  }

  /** Credentials signed by a key the servers do not trust. */
  static Path untrustedCredentials(Path dir, String name) {
    try {
      NKey stranger = NKey.createAccount(null);
      NKey user = NKey.createUser(null);
      String jwt = JwtUtils.issueJWT(stranger, pub(user), name, null, JwtUtils.currentTimeSeconds(), pub(stranger), null,
          new Raw("{\"type\":\"user\",\"version\":2}"));
      return writeCreds(dir.resolve(name + "-untrusted.creds"), jwt, user);
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private Path write(Path dir, String name, NKey signer, String issuerAccount, String permissions) {
    try {
      NKey user = NKey.createUser(null);
      String nats = "{" + (issuerAccount == null ? "" : "\"issuer_account\":\"" + issuerAccount + "\",")
          + "\"type\":\"user\",\"version\":2" + permissions + "}";
      String jwt = JwtUtils.issueJWT(signer, pub(user), name, null, JwtUtils.currentTimeSeconds(), pub(signer), null, new Raw(nats));
      return writeCreds(dir.resolve(name + ".creds"), jwt, user);
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Path writeCreds(Path file, String jwt, NKey user) throws GeneralSecurityException, IOException {
    Files.writeString(file, "-----BEGIN NATS USER JWT-----\n" + jwt + "\n------END NATS USER JWT------\n\n"
        + "-----BEGIN USER NKEY SEED-----\n" + new String(user.getSeed()) + "\n------END USER NKEY SEED------\n");
    return file;
  }

  private static String pub(NKey key) {
    try {
      return new String(key.getPublicKey());
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String json(List<String> subjects) {
    return subjects.stream().map(s -> "\"" + s + "\"").collect(Collectors.joining(",", "[", "]"));
  }
}
