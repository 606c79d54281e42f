/*
 * quickAck(fd): acknowledge what has been read from a TCP socket now, instead of up to 40 ms
 * later. Node exposes no setsockopt(), hence this Node-API addon (ABI-stable: one build serves
 * every Node version from 20 on, the bundled runtime of the packages included).
 *
 * Why the proxy needs it: on a keep-alive connection Linux treats the proxy's side of the
 * upstream connection as interactive ("ping-pong") and delays its ACKs, hoping to piggyback them
 * on the next request. A backend with Nagle's algorithm on (nginx with sendfile and tcp_nopush,
 * plain Node net servers, ...) holds back the sub-MSS tail of a multi-segment response until the
 * earlier part is acknowledged, so the response stalls until the delayed-ACK timer fires.
 * TCP_QUICKACK leaves ping-pong mode and sends the pending ACK at once (Linux only; the flag is
 * not sticky, which is why it is set per response). See docs/internals/proxy-performance.md, Upstream ACKs.
 */
#include <node_api.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static napi_value quick_ack(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  int ok = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 1 &&
      napi_get_value_int32(env, argv[0], &fd) == napi_ok && fd >= 0) {
    int one = 1;
    ok = setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one) == 0;
  }
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "quickAck", NAPI_AUTO_LENGTH, quick_ack, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "quickAck", fn) != napi_ok) return NULL;
  return exports;
}
