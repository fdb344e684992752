package dev.checkmate.relay.client;

import java.util.function.Consumer;

/** The callback style's {@link Delivery}: everything goes to the application's {@link SessionListener}. */
final class ListenerDelivery implements Delivery {
  private final RelaySession session;
  private final SessionListener listener;

  ListenerDelivery(RelaySession session, SessionListener listener) {
    this.session = session;
    this.listener = listener;
  }

  @Override
  public void frame(byte[] payload, Runnable delivered) {
    listener.onFrame(session, payload);
    delivered.run(); // only after the callback returned: a slow callback slows the peer
  }

  @Override
  public void peerRestarted(PeerRestartedException restart) {
    listener.onPeerRestarted(session, restart);
  }

  @Override
  public void event(Consumer<SessionListener> event) {
    event.accept(listener);
  }

  @Override
  public void ended(RelayException end) {
    listener.onEnded(session, end);
  }
}
