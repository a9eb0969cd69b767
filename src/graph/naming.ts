// Topic names are pure functions of the group and per-processor options: never process
// globals, because worker threads would not see them.

export interface NamingOptions {
  tableSuffix?: string;
  loopSuffix?: string;
}

export const DEFAULT_TABLE_SUFFIX = '-table';
export const DEFAULT_LOOP_SUFFIX = '-loop';

export function tableTopic(group: string, opts: NamingOptions = {}): string {
  return group + (opts.tableSuffix ?? DEFAULT_TABLE_SUFFIX);
}

export function loopTopic(group: string, opts: NamingOptions = {}): string {
  return group + (opts.loopSuffix ?? DEFAULT_LOOP_SUFFIX);
}

const LEGAL = /^[a-zA-Z0-9._-]{1,249}$/;

export function isLegalTopicName(name: string): boolean {
  return LEGAL.test(name) && name !== '.' && name !== '..';
}
