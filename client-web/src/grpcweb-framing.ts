/**
 * gRPC-Web binary framing (PROTOCOL-WEB.md): each message is a 5-byte prefix (flags, 4-byte
 * big-endian length) and the message; a frame with flag 0x80 carries the trailers as HTTP/1 header
 * lines ("grpc-status:0\r\ngrpc-message:...\r\n").
 */
export function frame(message: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(5 + message.length);
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, 5);
  return out;
}

export type GrpcWebPart =
  | { kind: "message"; bytes: Uint8Array }
  | { kind: "trailers"; status: number; message: string };

/** Incremental parser for a gRPC-Web response body. */
export class FrameParser {
  private buffer = new Uint8Array(0);

  push(chunk: Uint8Array): GrpcWebPart[] {
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer);
    joined.set(chunk, this.buffer.length);
    this.buffer = joined;
    const parts: GrpcWebPart[] = [];
    while (this.buffer.length >= 5) {
      const view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
      const flags = view.getUint8(0);
      const length = view.getUint32(1);
      if (this.buffer.length < 5 + length) {
        break;
      }
      const body = this.buffer.slice(5, 5 + length);
      this.buffer = this.buffer.slice(5 + length);
      if (flags & 0x80) {
        parts.push(parseTrailers(new TextDecoder().decode(body)));
      } else {
        parts.push({ kind: "message", bytes: body });
      }
    }
    return parts;
  }
}

export function parseTrailers(text: string): { kind: "trailers"; status: number; message: string } {
  let status = 2; // UNKNOWN unless told
  let message = "";
  for (const line of text.split("\r\n")) {
    const i = line.indexOf(":");
    if (i < 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    if (name === "grpc-status") status = Number(value);
    if (name === "grpc-message") message = decodeGrpcMessage(value);
  }
  return { kind: "trailers", status, message };
}

export function decodeGrpcMessage(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
