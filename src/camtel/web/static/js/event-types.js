// Names of camtel's event types and notification channels, in the page's language.
import { t } from "./core.js";

const EVENT_NAMES = {
  geofence_enter: () => t("Entered a geofence"),
  geofence_exit: () => t("Left a geofence"),
  overspeed: () => t("Speeding"),
  alarm: () => t("Alarm"),
  harsh_braking: () => t("Harsh braking"),
  harsh_acceleration: () => t("Harsh acceleration"),
  harsh_event: () => t("Harsh driving"),
  collision: () => t("Collision"),
  ignition_on: () => t("Ignition on"),
  ignition_off: () => t("Ignition off"),
  device_online: () => t("Came online"),
  device_offline: () => t("Went offline"),
  motion_start: () => t("Started moving"),
  motion_stop: () => t("Stopped"),
};

const CHANNEL_NAMES = {
  inbox: () => t("Inbox"),
  email: () => t("Email"),
  webpush: () => t("Browser notification"),
};

/** The name of an event type ("Left a geofence"); an unknown type is shown as it is. */
export function eventTypeName(type) {
  return EVENT_NAMES[type] ? EVENT_NAMES[type]() : String(type || "").replace(/_/g, " ");
}

const CHANNEL_LABELS = {
  inbox: (event) => t("{event} in the inbox", { event }),
  email: (event) => t("{event} by email", { event }),
  webpush: (event) => t("{event} as a browser notification", { event }),
};

/** "Left a geofence by email": a checkbox's name in the table of event types × channels. */
export function channelLabel(channel, event) {
  return CHANNEL_LABELS[channel] ? CHANNEL_LABELS[channel](event) : `${event}: ${channel}`;
}

/** The name of a notification channel. */
export function channelName(channel) {
  return CHANNEL_NAMES[channel] ? CHANNEL_NAMES[channel]() : channel;
}
