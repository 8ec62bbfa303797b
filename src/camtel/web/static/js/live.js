// The live socket (/api/v1/live): reconnects with back-off and says when it is (re)connected,
// so that a page can resync over REST what it missed.

export function connectLive({ onMessage, onOpen, onStatus, deviceId } = {}) {
  let socket = null;
  let delay = 1000;
  let closed = false;
  const url = () => {
    const base = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/live`;
    return deviceId ? `${base}?device_id=${encodeURIComponent(deviceId)}` : base;
  };
  function open() {
    socket = new WebSocket(url());
    socket.addEventListener("open", () => {
      delay = 1000;
      onStatus && onStatus("connected");
      onOpen && onOpen();
    });
    socket.addEventListener("message", (message) => {
      let data;
      try { data = JSON.parse(message.data); } catch { return; }
      onMessage && onMessage(data);
    });
    socket.addEventListener("close", () => {
      if (closed) return;
      onStatus && onStatus("reconnecting");
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }
  open();
  return { close() { closed = true; socket && socket.close(); } };
}
