// The error log's levels, Gunicorn's names in order of severity.
//
// A module of its own because the settings registry validates `loglevel`
// against it: importing it from error-log.ts made a cycle
// (registry → error-log → syslog → settings → registry) that only the
// bundle's module order hid; unbundled, error-log loaded first threw
// "Cannot access 'LOG_LEVELS' before initialization".

export const LOG_LEVELS = ['debug', 'info', 'warning', 'error', 'critical'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
