// Set-up instructions for a device: what to enter on it so that it reaches this server.
import { el, t } from "./core.js";

/** Each protocol as people know it, and what its identifier is called. */
export const PROTOCOLS = {
  jt808: {
    label: () => t("JT/T 808 dash cam"),
    idName: () => t("Terminal phone number"),
    idLabel: () => t("Terminal phone number (12 digits, as the device sends it)"),
    idHint: () => t("Printed on the terminal or shown by its configuration tool; leading zeros count. Newer terminals (JT/T 808-2019) send 20 digits."),
    idProblem: () => t("Enter the terminal phone number: 12 digits (20 for JT/T 808-2019 terminals)."),
    numeric: true,
  },
  teltonika: {
    label: () => t("Teltonika tracker"),
    idName: () => t("IMEI number"),
    idLabel: () => t("IMEI (15 digits)"),
    idHint: () => t("On the device's label and in Teltonika Configurator."),
    idProblem: () => t("Enter the IMEI: 15 digits, as on the label."),
    numeric: true,
  },
  osmand: {
    label: () => t("OsmAnd / Traccar Client (phone app)"),
    idName: () => t("Device identifier"),
    idLabel: () => t("Device identifier"),
    idHint: () => t("Traccar Client shows it in its settings; for OsmAnd, choose any identifier without spaces."),
    idProblem: () => t("Enter an identifier of 1 to 128 characters, without spaces."),
    numeric: false,
  },
  mqtt: {
    label: () => t("MQTT (JSON messages)"),
    idName: () => t("Device id in the topic"),
    idLabel: () => t("Device id in the MQTT topic"),
    idHint: () => t("The topic level that names this device: letters, digits and . _ : -"),
    idProblem: () => t("Enter 1 to 64 letters, digits or . _ : -"),
    numeric: false,
  },
};

const online = () => t("Once it reports, it shows as online in the list above and appears on the fleet map.");

function facts(pairs) {
  return el("dl", { class: "facts setup-facts" }, pairs.flatMap(([term, value]) => [
    el("dt", {}, term),
    el("dd", {}, el("code", { class: "copyable" }, String(value))),
  ]));
}

function off(kind) {
  return el("p", { class: "notice" }, t("The {kind} gateway is turned off on this server; ask its operator to turn it on.", { kind }));
}

function jt808(device, gateways) {
  const { host } = gateways;
  const port = gateways.jt808;
  if (!port) return [off(PROTOCOLS.jt808.label())];
  return [
    facts([[t("Server address"), host], [t("TCP port"), port], [t("Terminal phone number"), device.unique_id]]),
    el("ol", { class: "steps" },
      el("li", {}, t("In the terminal's platform settings (by SMS command or with its configuration tool), set the server (IP or domain) to {host} and the TCP port to {port}.", { host, port })),
      el("li", {}, t("The terminal phone number must be {id}: the terminal sends it in every message. If the terminal shows another one, set it to this number the same way.", { id: device.unique_id })),
      el("li", {}, online())),
  ];
}

function teltonika(device, gateways) {
  const { host } = gateways;
  const port = gateways.teltonika;
  if (!port) return [off(PROTOCOLS.teltonika.label())];
  return [
    facts([[t("Server address"), host], [t("TCP port"), port], [t("IMEI number"), device.unique_id]]),
    el("ol", { class: "steps" },
      el("li", {}, t("In Teltonika Configurator, open GPRS → Server settings and enter the domain {host}, the port {port} and the protocol TCP.", { host, port })),
      el("li", {}, t("Or send the device this SMS (with its SMS login and password in front, if it has them):"), " ",
        el("code", { class: "copyable" }, `setparam 2004:${host};2005:${port};2006:0`)),
      el("li", {}, t("The device names itself by its IMEI, {id}: there is nothing else to set.", { id: device.unique_id })),
      el("li", {}, online())),
  ];
}

function osmand(device, gateways) {
  const port = gateways.osmand;
  if (!port) return [off(PROTOCOLS.osmand.label())];
  const url = `http://${gateways.host.includes(":") ? `[${gateways.host}]` : gateways.host}:${port}`;
  const id = device.unique_id;
  const tracking = `${url}/?id=${encodeURIComponent(id)}&lat={0}&lon={1}&timestamp={2}&hdop={3}&altitude={4}&speed={5}`;
  return [
    facts([[t("Server URL"), url], [t("Device identifier"), id]]),
    el("ol", { class: "steps" },
      el("li", {}, t("In Traccar Client, set the server URL to {url} and the device identifier to {id}, then start the service.", { url, id })),
      el("li", {}, t("In OsmAnd, turn on the Trip recording plugin and set the online tracking web address to:"), " ",
        el("code", { class: "copyable" }, tracking)),
      el("li", {}, online())),
  ];
}

function mqtt(device, gateways) {
  const { broker, topic } = gateways.mqtt;
  if (!broker) return [off(PROTOCOLS.mqtt.label())];
  const deviceTopic = topic.replace("+", device.unique_id);
  const example = JSON.stringify({ latitude: 52.52, longitude: 13.405, time: "2025-05-01T12:00:00Z", speed_kmh: 42 });
  return [
    facts([[t("MQTT broker"), broker], [t("MQTT topic"), deviceTopic]]),
    el("ol", { class: "steps" },
      el("li", {}, t("Publish each position as a JSON object to the topic {topic} with QoS 1, for example:", { topic: deviceTopic }), " ",
        el("code", { class: "copyable" }, example)),
      el("li", {}, online())),
  ];
}

const BUILDERS = { jt808, teltonika, osmand, mqtt };

/** The instructions for `device` ({name, protocol, unique_id}), as DOM nodes (text only). */
export function instructions(device, gateways) {
  const build = BUILDERS[device.protocol];
  return build ? build(device, gateways) : [];
}
