package dev.checkmate.relay.envoy;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.OneofDescriptor;
import com.google.protobuf.Duration;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.pgv.validate.Validate;
import io.envoyproxy.pgv.validate.Validate.FieldRules;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A small reflective enforcer of the protoc-gen-validate (PGV) rules that Envoy checks when it loads
 * a config, plus a scan for deprecated fields and enum values. {@link JsonFormat} enforces neither.
 *
 * <p>It walks every set field, reads {@code (validate.rules)} / {@code (validate.required)} from the
 * descriptors and unpacks every {@code Any} (typed_config) through the type registry, so filter
 * configs are checked too. Covered: message required/skip, oneof required, numeric
 * const/lt/lte/gt/gte/in/not_in (also through wrapper types), string length/bytes/prefix/suffix/
 * contains/in/not_in/pattern/HTTP header well-known regexes, bytes length, enum defined_only/in/
 * not_in, repeated min/max items and item rules, map min/max pairs and value rules, duration
 * required/bounds, timestamp and any required, any in/not_in. Not covered: the remaining string
 * well-known formats (email, hostname, ip, uri...), unique items.
 */
final class ProtoRuleChecker {

  private static final Set<String> WRAPPERS =
      Set.of(
          "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
          "google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
          "google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue");
  private static final Pattern HEADER_NAME = Pattern.compile("^:?[0-9a-zA-Z!#$%&'*+\\-.^_|~`]+$");
  private static final Pattern HEADER_VALUE_STRICT = Pattern.compile("^[^\\u0000-\\u0008\\u000A-\\u001F\\u007F]*$");
  private static final Pattern HEADER_VALUE_LAX = Pattern.compile("^[^\\u0000\\u000A\\u000D]*$");

  private final JsonFormat.TypeRegistry registry;

  ProtoRuleChecker(JsonFormat.TypeRegistry registry) {
    this.registry = registry;
  }

  /** PGV rule violations, each "path: problem". */
  List<String> validate(Message root) {
    List<String> out = new ArrayList<>();
    walk(root, rootName(root), out, true);
    return out;
  }

  /** Deprecated fields and enum values in use, each "path: ...". */
  List<String> deprecations(Message root) {
    List<String> out = new ArrayList<>();
    walk(root, rootName(root), out, false);
    return out;
  }

  private static String rootName(Message m) {
    return m.getDescriptorForType().getName();
  }

  // ------------------------------------------------------------------------------------------
  // walking
  // ------------------------------------------------------------------------------------------

  private void walk(Message msg, String path, List<String> out, boolean pgv) {
    Descriptor d = msg.getDescriptorForType();
    if (d.getFullName().equals("google.protobuf.Any")) {
      Message inner = unpack(msg, path, out);
      if (inner != null) {
        walk(inner, path + "<" + inner.getDescriptorForType().getName() + ">", out, pgv);
      }
      return;
    }
    if (pgv) {
      if (d.getOptions().getExtension(Validate.disabled) || d.getOptions().getExtension(Validate.ignored)) {
        return;
      }
      for (OneofDescriptor oneof : d.getRealOneofs()) {
        if (oneof.getOptions().getExtension(Validate.required) && msg.getOneofFieldDescriptor(oneof) == null) {
          List<String> names = oneof.getFields().stream().map(FieldDescriptor::getName).toList();
          out.add(path + ": one of " + names + " is required (oneof " + oneof.getName() + ")");
        }
      }
    }
    for (FieldDescriptor f : d.getFields()) {
      String fp = path + "." + f.getName();
      FieldRules rules = f.getOptions().hasExtension(Validate.rules) ? f.getOptions().getExtension(Validate.rules) : null;
      if (!pgv) {
        boolean set = f.isRepeated() ? msg.getRepeatedFieldCount(f) > 0 : msg.hasField(f);
        if (set && f.getOptions().getDeprecated()) {
          out.add(fp + ": deprecated field " + d.getFullName() + "." + f.getName() + " is set");
        }
      }
      if (f.isMapField()) {
        int n = msg.getRepeatedFieldCount(f);
        if (pgv && rules != null && rules.hasMap()) {
          checkMap(rules.getMap(), n, fp, out);
        }
        FieldDescriptor keyF = f.getMessageType().findFieldByName("key");
        FieldDescriptor valF = f.getMessageType().findFieldByName("value");
        for (int i = 0; i < n; i++) {
          Message entry = (Message) msg.getRepeatedField(f, i);
          String ep = fp + "[" + entry.getField(keyF) + "]";
          Object v = entry.getField(valF);
          if (pgv && rules != null && rules.hasMap() && rules.getMap().hasValues()) {
            checkValue(rules.getMap().getValues(), valF, v, ep, out);
          }
          visitValue(valF, v, ep, out, pgv);
        }
      } else if (f.isRepeated()) {
        int n = msg.getRepeatedFieldCount(f);
        if (pgv && rules != null && rules.hasRepeated()) {
          Validate.RepeatedRules rr = rules.getRepeated();
          if (!(rr.getIgnoreEmpty() && n == 0)) {
            if (rr.hasMinItems() && n < rr.getMinItems()) {
              out.add(fp + ": needs at least " + rr.getMinItems() + " item(s), has " + n);
            }
            if (rr.hasMaxItems() && n > rr.getMaxItems()) {
              out.add(fp + ": allows at most " + rr.getMaxItems() + " item(s), has " + n);
            }
          }
        }
        for (int i = 0; i < n; i++) {
          Object v = msg.getRepeatedField(f, i);
          String ip = fp + "[" + i + "]";
          if (pgv && rules != null && rules.hasRepeated() && rules.getRepeated().hasItems()) {
            checkValue(rules.getRepeated().getItems(), f, v, ip, out);
          }
          visitValue(f, v, ip, out, pgv);
        }
      } else if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
        if (!msg.hasField(f)) {
          if (f.getRealContainingOneof() != null) {
            continue; // an unset oneof member: its rules apply only when it is the one chosen
          }
          if (pgv && rules != null && requiredMessage(rules)) {
            out.add(fp + ": is required");
          }
          continue;
        }
        Object v = msg.getField(f);
        if (pgv && rules != null) {
          checkValue(rules, f, v, fp, out);
          if (rules.hasMessage() && rules.getMessage().getSkip()) {
            continue;
          }
        }
        visitValue(f, v, fp, out, pgv);
      } else {
        if (f.hasPresence() && !msg.hasField(f)) {
          continue; // unset oneof member / proto3 optional: rules apply only when set
        }
        if (!pgv && !msg.hasField(f)) {
          continue; // deprecation scan: only values written in the config count
        }
        Object v = msg.getField(f);
        if (pgv && rules != null) {
          checkValue(rules, f, v, fp, out);
        }
        visitValue(f, v, fp, out, pgv);
      }
    }
  }

  private void visitValue(FieldDescriptor f, Object v, String path, List<String> out, boolean pgv) {
    if (v instanceof Message m) {
      walk(m, path, out, pgv);
    } else if (!pgv && v instanceof EnumValueDescriptor e && e.getOptions().getDeprecated()) {
      out.add(path + ": deprecated enum value " + e.getFullName() + " is used");
    }
  }

  private Message unpack(Message any, String path, List<String> out) {
    String typeUrl;
    ByteString value;
    if (any instanceof Any a) {
      typeUrl = a.getTypeUrl();
      value = a.getValue();
    } else {
      Descriptor d = any.getDescriptorForType();
      typeUrl = (String) any.getField(d.findFieldByName("type_url"));
      value = (ByteString) any.getField(d.findFieldByName("value"));
    }
    if (typeUrl.isEmpty()) {
      return null; // an empty Any: "required" rules on the field report it
    }
    try {
      Descriptor target = registry.find(typeUrl.substring(typeUrl.lastIndexOf('/') + 1));
      if (target == null) {
        out.add(path + ": cannot resolve @type " + typeUrl);
        return null;
      }
      return DynamicMessage.parseFrom(target, value);
    } catch (InvalidProtocolBufferException e) {
      out.add(path + ": cannot unpack @type " + typeUrl + ": " + e.getMessage());
      return null;
    }
  }

  // ------------------------------------------------------------------------------------------
  // rules
  // ------------------------------------------------------------------------------------------

  private static boolean requiredMessage(FieldRules rules) {
    return (rules.hasMessage() && rules.getMessage().getRequired())
        || (rules.hasDuration() && rules.getDuration().getRequired())
        || (rules.hasTimestamp() && rules.getTimestamp().getRequired())
        || (rules.hasAny() && rules.getAny().getRequired());
  }

  /** Applies the type rules of {@code rules} to one (singular or item) value of field {@code f}. */
  private void checkValue(FieldRules rules, FieldDescriptor f, Object v, String path, List<String> out) {
    if (v instanceof Message m) {
      String type = m.getDescriptorForType().getFullName();
      if (WRAPPERS.contains(type)) {
        FieldDescriptor inner = m.getDescriptorForType().findFieldByName("value");
        checkScalar(rules, inner, m.getField(inner), path, out);
        return;
      }
      if (rules.hasDuration() && type.equals("google.protobuf.Duration")) {
        checkDuration(rules.getDuration(), toDuration(m), path, out);
      } else if (rules.hasAny() && type.equals("google.protobuf.Any")) {
        Validate.AnyRules ar = rules.getAny();
        String url = (String) m.getField(m.getDescriptorForType().findFieldByName("type_url"));
        if (ar.getInCount() > 0 && !ar.getInList().contains(url)) {
          out.add(path + ": @type " + url + " is not one of " + ar.getInList());
        }
        if (ar.getNotInList().contains(url)) {
          out.add(path + ": @type " + url + " is not allowed here");
        }
      }
      return;
    }
    checkScalar(rules, f, v, path, out);
  }

  private static void checkScalar(FieldRules rules, FieldDescriptor f, Object v, String path, List<String> out) {
    switch (rules.getTypeCase()) {
      case STRING -> checkString(rules.getString(), (String) v, path, out);
      case BYTES -> checkBytes(rules.getBytes(), (ByteString) v, path, out);
      case ENUM -> checkEnum(rules.getEnum(), (EnumValueDescriptor) v, path, out);
      case BOOL -> {
        if (rules.getBool().hasConst() && rules.getBool().getConst() != (Boolean) v) {
          out.add(path + ": must be " + rules.getBool().getConst());
        }
      }
      case FLOAT, DOUBLE, INT32, INT64, UINT32, UINT64, SINT32, SINT64, FIXED32, FIXED64, SFIXED32, SFIXED64 -> {
        Message numeric = (Message) rules.getField(rules.getDescriptorForType()
            .findFieldByNumber(rules.getTypeCase().getNumber()));
        checkNumber(numeric, f, v, path, out);
      }
      default -> { /* message-typed rules are handled by the caller */ }
    }
  }

  private static void checkNumber(Message nr, FieldDescriptor f, Object v, String path, List<String> out) {
    BigDecimal x = toBig(v, f.getType());
    Descriptor d = nr.getDescriptorForType();
    if (bool(nr, "ignore_empty") && x.signum() == 0) {
      return;
    }
    BigDecimal cnst = bound(nr, d, "const");
    if (cnst != null && x.compareTo(cnst) != 0) {
      out.add(path + ": must equal " + cnst.toPlainString() + ", is " + x.toPlainString());
    }
    BigDecimal lt = bound(nr, d, "lt");
    BigDecimal lte = bound(nr, d, "lte");
    BigDecimal gt = bound(nr, d, "gt");
    BigDecimal gte = bound(nr, d, "gte");
    BigDecimal upper = lt != null ? lt : lte;
    BigDecimal lower = gt != null ? gt : gte;
    boolean okUpper = upper == null || (lt != null ? x.compareTo(lt) < 0 : x.compareTo(lte) <= 0);
    boolean okLower = lower == null || (gt != null ? x.compareTo(gt) > 0 : x.compareTo(gte) >= 0);
    boolean exclusiveRange = upper != null && lower != null && upper.compareTo(lower) < 0;
    boolean ok = exclusiveRange ? (okUpper || okLower) : (okUpper && okLower);
    if (!ok) {
      StringBuilder want = new StringBuilder();
      if (gt != null) want.append(" > ").append(gt.toPlainString());
      if (gte != null) want.append(" >= ").append(gte.toPlainString());
      if (lt != null) want.append(" < ").append(lt.toPlainString());
      if (lte != null) want.append(" <= ").append(lte.toPlainString());
      out.add(path + ": must be" + want + ", is " + x.toPlainString());
    }
    FieldDescriptor in = d.findFieldByName("in");
    if (nr.getRepeatedFieldCount(in) > 0) {
      boolean found = false;
      for (int i = 0; i < nr.getRepeatedFieldCount(in); i++) {
        found |= toBig(nr.getRepeatedField(in, i), in.getType()).compareTo(x) == 0;
      }
      if (!found) out.add(path + ": " + x.toPlainString() + " is not an allowed value");
    }
    FieldDescriptor notIn = d.findFieldByName("not_in");
    for (int i = 0; i < nr.getRepeatedFieldCount(notIn); i++) {
      if (toBig(nr.getRepeatedField(notIn, i), notIn.getType()).compareTo(x) == 0) {
        out.add(path + ": " + x.toPlainString() + " is not allowed");
      }
    }
  }

  private static boolean bool(Message m, String name) {
    FieldDescriptor f = m.getDescriptorForType().findFieldByName(name);
    return f != null && m.hasField(f) && (Boolean) m.getField(f);
  }

  private static BigDecimal bound(Message m, Descriptor d, String name) {
    FieldDescriptor f = d.findFieldByName(name);
    return f != null && m.hasField(f) ? toBig(m.getField(f), f.getType()) : null;
  }

  private static BigDecimal toBig(Object v, FieldDescriptor.Type type) {
    return switch (type) {
      case UINT32, FIXED32 -> BigDecimal.valueOf(Integer.toUnsignedLong((Integer) v));
      case UINT64, FIXED64 -> new BigDecimal(new BigInteger(Long.toUnsignedString((Long) v)));
      case FLOAT -> new BigDecimal(Float.toString((Float) v));
      case DOUBLE -> new BigDecimal(Double.toString((Double) v));
      default -> BigDecimal.valueOf(((Number) v).longValue());
    };
  }

  private static void checkString(Validate.StringRules sr, String s, String path, List<String> out) {
    if (sr.getIgnoreEmpty() && s.isEmpty()) {
      return;
    }
    int chars = s.codePointCount(0, s.length());
    int bytes = s.getBytes(StandardCharsets.UTF_8).length;
    if (sr.hasConst() && !s.equals(sr.getConst())) out.add(path + ": must be \"" + sr.getConst() + "\"");
    if (sr.hasLen() && chars != sr.getLen()) out.add(path + ": must be " + sr.getLen() + " characters");
    if (sr.hasMinLen() && chars < sr.getMinLen()) {
      out.add(path + ": must be at least " + sr.getMinLen() + " character(s), is \"" + s + "\"");
    }
    if (sr.hasMaxLen() && chars > sr.getMaxLen()) out.add(path + ": must be at most " + sr.getMaxLen() + " characters");
    if (sr.hasLenBytes() && bytes != sr.getLenBytes()) out.add(path + ": must be " + sr.getLenBytes() + " bytes");
    if (sr.hasMinBytes() && bytes < sr.getMinBytes()) out.add(path + ": must be at least " + sr.getMinBytes() + " byte(s)");
    if (sr.hasMaxBytes() && bytes > sr.getMaxBytes()) out.add(path + ": must be at most " + sr.getMaxBytes() + " bytes");
    if (sr.hasPrefix() && !s.startsWith(sr.getPrefix())) out.add(path + ": must start with \"" + sr.getPrefix() + "\"");
    if (sr.hasSuffix() && !s.endsWith(sr.getSuffix())) out.add(path + ": must end with \"" + sr.getSuffix() + "\"");
    if (sr.hasContains() && !s.contains(sr.getContains())) out.add(path + ": must contain \"" + sr.getContains() + "\"");
    if (sr.hasNotContains() && s.contains(sr.getNotContains())) out.add(path + ": must not contain \"" + sr.getNotContains() + "\"");
    if (sr.getInCount() > 0 && !sr.getInList().contains(s)) out.add(path + ": \"" + s + "\" is not one of " + sr.getInList());
    if (sr.getNotInList().contains(s)) out.add(path + ": \"" + s + "\" is not allowed");
    if (sr.hasPattern()) {
      try {
        if (!Pattern.compile(sr.getPattern()).matcher(s).find()) {
          out.add(path + ": \"" + s + "\" does not match " + sr.getPattern());
        }
      } catch (PatternSyntaxException ignored) {
        // RE2 syntax Java cannot compile: not checked here
      }
    }
    if (sr.getWellKnownCase() == Validate.StringRules.WellKnownCase.WELL_KNOWN_REGEX) {
      switch (sr.getWellKnownRegex()) {
        case HTTP_HEADER_NAME -> {
          if (!s.isEmpty() && !HEADER_NAME.matcher(s).matches()) out.add(path + ": \"" + s + "\" is not a valid HTTP header name");
        }
        case HTTP_HEADER_VALUE -> {
          Pattern p = sr.hasStrict() && !sr.getStrict() ? HEADER_VALUE_LAX : HEADER_VALUE_STRICT;
          if (!p.matcher(s).matches()) out.add(path + ": is not a valid HTTP header value");
        }
        default -> { }
      }
    }
  }

  private static void checkBytes(Validate.BytesRules br, ByteString b, String path, List<String> out) {
    if (br.getIgnoreEmpty() && b.isEmpty()) return;
    if (br.hasMinLen() && b.size() < br.getMinLen()) out.add(path + ": must be at least " + br.getMinLen() + " byte(s)");
    if (br.hasMaxLen() && b.size() > br.getMaxLen()) out.add(path + ": must be at most " + br.getMaxLen() + " bytes");
    if (br.hasLen() && b.size() != br.getLen()) out.add(path + ": must be " + br.getLen() + " bytes");
  }

  private static void checkEnum(Validate.EnumRules er, EnumValueDescriptor e, String path, List<String> out) {
    int n = e.getNumber();
    if (er.getDefinedOnly() && e.getType().findValueByNumber(n) == null) {
      out.add(path + ": " + n + " is not a defined value of " + e.getType().getFullName());
    }
    if (er.hasConst() && er.getConst() != n) out.add(path + ": must be enum number " + er.getConst());
    if (er.getInCount() > 0 && !er.getInList().contains(n)) out.add(path + ": " + e.getName() + " is not an allowed value");
    if (er.getNotInList().contains(n)) out.add(path + ": " + e.getName() + " is not allowed");
  }

  private static void checkMap(Validate.MapRules mr, int n, String path, List<String> out) {
    if (mr.getIgnoreEmpty() && n == 0) return;
    if (mr.hasMinPairs() && n < mr.getMinPairs()) out.add(path + ": needs at least " + mr.getMinPairs() + " entr(ies), has " + n);
    if (mr.hasMaxPairs() && n > mr.getMaxPairs()) out.add(path + ": allows at most " + mr.getMaxPairs() + " entries, has " + n);
  }

  private static Duration toDuration(Message m) {
    if (m instanceof Duration d) return d;
    Descriptor d = m.getDescriptorForType();
    return Duration.newBuilder()
        .setSeconds((Long) m.getField(d.findFieldByName("seconds")))
        .setNanos((Integer) m.getField(d.findFieldByName("nanos")))
        .build();
  }

  private static BigDecimal seconds(Duration d) {
    return BigDecimal.valueOf(d.getSeconds()).add(BigDecimal.valueOf(d.getNanos(), 9));
  }

  private static void checkDuration(Validate.DurationRules dr, Duration d, String path, List<String> out) {
    BigDecimal x = seconds(d);
    String is = ", is " + x.stripTrailingZeros().toPlainString() + "s";
    if (dr.hasConst() && x.compareTo(seconds(dr.getConst())) != 0) out.add(path + ": must be " + seconds(dr.getConst()) + "s" + is);
    BigDecimal lt = dr.hasLt() ? seconds(dr.getLt()) : null;
    BigDecimal lte = dr.hasLte() ? seconds(dr.getLte()) : null;
    BigDecimal gt = dr.hasGt() ? seconds(dr.getGt()) : null;
    BigDecimal gte = dr.hasGte() ? seconds(dr.getGte()) : null;
    if (lt != null && x.compareTo(lt) >= 0) out.add(path + ": must be < " + lt.stripTrailingZeros().toPlainString() + "s" + is);
    if (lte != null && x.compareTo(lte) > 0) out.add(path + ": must be <= " + lte.stripTrailingZeros().toPlainString() + "s" + is);
    if (gt != null && x.compareTo(gt) <= 0) out.add(path + ": must be > " + gt.stripTrailingZeros().toPlainString() + "s" + is);
    if (gte != null && x.compareTo(gte) < 0) out.add(path + ": must be >= " + gte.stripTrailingZeros().toPlainString() + "s" + is);
    if (dr.getInCount() > 0 && dr.getInList().stream().noneMatch(v -> seconds(v).compareTo(x) == 0)) out.add(path + ": not an allowed duration" + is);
    if (dr.getNotInList().stream().anyMatch(v -> seconds(v).compareTo(x) == 0)) out.add(path + ": duration not allowed" + is);
  }
}
