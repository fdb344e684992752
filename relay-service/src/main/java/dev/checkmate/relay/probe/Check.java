package dev.checkmate.relay.probe;

/**
 * One line of the probe's checklist: what was checked, the verdict, what the probe found and, for
 * anything but a pass, what to fix.
 */
record Check(String name, Status status, String found, String fix) {
  enum Status {
    PASS, WARN, FAIL, SKIP
  }

  static Check pass(String name, String found) {
    return new Check(name, Status.PASS, found, "");
  }

  static Check warn(String name, String found, String fix) {
    return new Check(name, Status.WARN, found, fix);
  }

  static Check fail(String name, String found, String fix) {
    return new Check(name, Status.FAIL, found, fix);
  }

  static Check skip(String name, String why) {
    return new Check(name, Status.SKIP, why, "");
  }
}
