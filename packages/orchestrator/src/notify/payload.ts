import type { NotifyEventName, NotifyFormat } from '@dispenser/shared/config/types';
import type { NotifyEvent } from './events.js';

/** What is POSTed to one target for one event. */
export interface NotificationRequest {
  body: string;
  headers: Record<string, string>;
}

/** Where the event happened: the machine and the Dispenser instance on it. */
export interface EventOrigin {
  host: string;
  instance: string;
}

const TITLES: Record<NotifyEventName, string> = {
  'deploy-succeeded': 'deploy succeeded',
  'deploy-failed': 'deploy failed',
  'deploy-rolled-back': 'deploy rolled back',
  'container-exited': 'container exited unexpectedly',
  'cron-failed': 'cron job failed',
  'cert-renewal-failed': 'certificate renewal failed',
  'cert-expiring': 'certificate expiring soon',
  'registry-auth-failed': 'registry authentication failed',
  'reload-rejected': 'reload rejected',
};

/** ntfy priorities (1–5) and tags (emoji short codes) per event */
const NTFY: Record<NotifyEventName, { priority: number; tags: string }> = {
  'deploy-succeeded': { priority: 3, tags: 'white_check_mark' },
  'deploy-failed': { priority: 4, tags: 'x' },
  'deploy-rolled-back': { priority: 4, tags: 'leftwards_arrow_with_hook' },
  'container-exited': { priority: 4, tags: 'warning' },
  'cron-failed': { priority: 4, tags: 'x' },
  'cert-renewal-failed': { priority: 4, tags: 'lock' },
  'cert-expiring': { priority: 5, tags: 'lock' },
  'registry-auth-failed': { priority: 4, tags: 'key' },
  'reload-rejected': { priority: 4, tags: 'x' },
};

/**
 * Pure: the request body and headers for one event in one format. Every text taken from the
 * event goes through `redact` first (a message can quote a container's log or a config value),
 * field by field, so the scrubbing cannot break the JSON around it.
 */
export function notificationRequest(e: NotifyEvent, format: NotifyFormat, origin: EventOrigin, at: Date, redact: (text: string) => string): NotificationRequest {
  const message = redact(e.message);
  const title = `${TITLES[e.event]}${e.service ? `: ${e.service}` : ''}`;
  const common = { 'X-Dispenser-Event': e.event };
  switch (format) {
    case 'json': {
      const details: Record<string, string | number | boolean> = {};
      for (const [k, v] of Object.entries(e.details ?? {})) details[k] = typeof v === 'string' ? redact(v) : v;
      const body = {
        event: e.event,
        title,
        message,
        ...(e.service ? { service: e.service } : {}),
        ...(e.code ? { code: e.code } : {}),
        details,
        host: origin.host,
        instance: origin.instance,
        time: at.toISOString(),
      };
      return { body: JSON.stringify(body), headers: { ...common, 'Content-Type': 'application/json' } };
    }
    case 'slack':
      // an incoming webhook's `text`; Mattermost, Rocket.Chat and Discord's /slack endpoint take it too
      return { body: JSON.stringify({ text: `*${escapeSlack(title)}* on ${escapeSlack(origin.host)}\n${escapeSlack(message)}` }), headers: { ...common, 'Content-Type': 'application/json' } };
    case 'ntfy': {
      const { priority, tags } = NTFY[e.event];
      // header values must be single-line Latin-1; the body carries the full text as UTF-8
      return {
        body: message,
        headers: { ...common, 'Content-Type': 'text/plain; charset=utf-8', Title: headerSafe(`${title} (${origin.host})`), Tags: tags, Priority: String(priority) },
      };
    }
  }
}

/** Slack treats &, < and > as markup */
function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}
