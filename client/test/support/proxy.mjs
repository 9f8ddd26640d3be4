// A TCP relay in front of the server, so that the tests can take "the server" away and bring it
// back with its users and sessions intact (the embedded store lives inside the server process):
// `down()` closes the port (connection refused), `silent()` accepts and never answers, `badGateway()` answers every request 502 as a
// load balancer does when its upstream is gone, `up()` relays again, on the same port.
import { connect, createServer } from "node:net";

const PAGE = "<h1>502 Bad Gateway</h1>";
const BAD_GATEWAY = `HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: ${PAGE.length}\r\nConnection: close\r\n\r\n${PAGE}`;

export async function startProxy(targetPort) {
  let mode = "up";
  const sockets = new Set();
  let server = null;
  let port = 0;

  const handle = (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    if (mode === "silent") return; // accepts, never answers
    if (mode === "badGateway") {
      socket.once("data", () => socket.end(BAD_GATEWAY));
      return;
    }
    const upstream = connect(targetPort, "127.0.0.1");
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => socket.destroy());
    socket.on("close", () => upstream.destroy());
    upstream.on("close", () => socket.destroy());
    socket.pipe(upstream).pipe(socket);
  };

  const listen = () =>
    new Promise((resolve, reject) => {
      server = createServer(handle);
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        port = server.address().port;
        resolve();
      });
    });

  const close = () =>
    new Promise((resolve) => {
      if (!server) return resolve();
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
      server = null;
    });

  await listen();
  return {
    get baseUrl() {
      return `http://127.0.0.1:${port}`;
    },
    async down() {
      mode = "down";
      await close();
    },
    async badGateway() {
      mode = "badGateway";
      for (const socket of sockets) socket.destroy();
      if (!server) await listen();
    },
    async silent() {
      mode = "silent";
      if (!server) await listen();
    },
    async up() {
      mode = "up";
      for (const socket of sockets) socket.destroy();
      if (!server) await listen();
    },
    stop: close,
  };
}
