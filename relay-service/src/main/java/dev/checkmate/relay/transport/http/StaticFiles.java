package dev.checkmate.relay.transport.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Development only ({@code --dev-static-dir}): serves a folder on the HTTP port, e.g. the browser
 * demo, so a page and the relay share one origin without another web server. Small files only,
 * read whole; never use it in production.
 */
final class StaticFiles {
  private static final Map<String, String> TYPES = Map.of(
      "html", "text/html; charset=utf-8",
      "js", "text/javascript; charset=utf-8",
      "mjs", "text/javascript; charset=utf-8",
      "css", "text/css; charset=utf-8",
      "json", "application/json",
      "map", "application/json",
      "svg", "image/svg+xml",
      "png", "image/png",
      "ico", "image/x-icon",
      "txt", "text/plain; charset=utf-8");

  private final Path root;

  StaticFiles(Path root) {
    this.root = root.toAbsolutePath().normalize();
  }

  void serve(ChannelHandlerContext ctx, FullHttpRequest req, String path) {
    String relative = path.equals("/") ? "index.html" : path.substring(1);
    Path file = root.resolve(relative).normalize();
    if (!file.startsWith(root)) {
      HttpRouter.respond(ctx, req, HttpResponseStatus.FORBIDDEN, "forbidden\n");
      return;
    }
    if (Files.isDirectory(file)) {
      file = file.resolve("index.html");
    }
    if (!Files.isRegularFile(file)) {
      HttpRouter.respond(ctx, req, HttpResponseStatus.NOT_FOUND, "not found\n");
      return;
    }
    byte[] body;
    try {
      body = Files.readAllBytes(file);
    } catch (IOException e) {
      HttpRouter.respond(ctx, req, HttpResponseStatus.INTERNAL_SERVER_ERROR, "cannot read file\n");
      return;
    }
    String name = file.getFileName().toString();
    String ext = name.contains(".") ? name.substring(name.lastIndexOf('.') + 1) : "";
    FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.wrappedBuffer(body));
    res.headers().set(HttpHeaderNames.CONTENT_TYPE, TYPES.getOrDefault(ext, "application/octet-stream"));
    res.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
    HttpRouter.send(ctx, req, res);
  }
}
