package dev.checkmate.relay.client;


/**
 * The frames received broke the protocol contract (DATA_LOSS): a sequence number repeated or
 * skipped, so a frame was lost or duplicated between the peer and this client. The SDK terminates
 * the session when it sees this, because an interactive protocol cannot continue on a broken
 * transcript.
 */
public class ProtocolViolationException extends RelayException {
  private static final long serialVersionUID = 1L;

  ProtocolViolationException(String reason) {
    super(StatusCode.DATA_LOSS, reason, null);
  }
}
