import { describe, expect, it } from 'vitest';
import { httpConfigFromEnv } from '../middleware/config.ts';
import { checkpointCadenceFromEnv } from './audit/checkpoint.ts';
import { portSetting, wholeNumberSetting } from './settings.ts';

describe('numeric settings', () => {
  it('take the default when unset or empty, and plain digits within range', () => {
    expect(wholeNumberSetting({}, 'X', 7)).toBe(7);
    expect(wholeNumberSetting({ X: '' }, 'X', 7)).toBe(7);
    expect(wholeNumberSetting({ X: ' 12 ' }, 'X', 7)).toBe(12);
    expect(wholeNumberSetting({ X: '0' }, 'X', 7)).toBe(0);
    expect(portSetting({ PORT: '65535' }, 'PORT', 8787)).toBe(65535);
    expect(portSetting({ PORT: '0' }, 'PORT', 8787, true)).toBe(0);
    // An optional setting: unset stays unset.
    expect(wholeNumberSetting({ X: ' ' }, 'X', undefined)).toBeUndefined();
    expect(wholeNumberSetting({ X: '5' }, 'X', undefined, { min: 1 })).toBe(5);
  });

  it('refuse anything else in one line naming the variable, where Number() would have given NaN or a surprise', () => {
    for (const value of ['36k', 'abc', '1e3', '0x10', '-1', '1.5', '10 000', 'Infinity']) {
      expect(() => wholeNumberSetting({ X: value }, 'X', 7)).toThrow(`X must be a whole number of at least 0, not "${value}"`);
    }
    expect(() => wholeNumberSetting({ X: '0' }, 'X', 7, { min: 1 })).toThrow('X must be a whole number of at least 1, not "0"');
    expect(() => portSetting({ PORT: '65536' }, 'PORT', 8787)).toThrow('PORT must be a whole number from 1 to 65535, not "65536"');
    expect(() => portSetting({ PORT: '0' }, 'PORT', 8787)).toThrow('PORT must be a whole number from 1 to 65535, not "0"');
  });

  it('guard the limits and the checkpoint cadence: a typo stops the start instead of turning them off', () => {
    // NaN > 0 is false: RATE_LIMIT_PER_ADDRESS=36k used to switch the per-address limit off without a word.
    expect(() => httpConfigFromEnv({ RATE_LIMIT_PER_ADDRESS: '36k' })).toThrow('RATE_LIMIT_PER_ADDRESS must be a whole number of at least 0, not "36k"');
    expect(() => httpConfigFromEnv({ SIGN_IN_LIMIT_PER_ACCOUNT: 'ten' })).toThrow('SIGN_IN_LIMIT_PER_ACCOUNT');
    expect(() => httpConfigFromEnv({ MAX_BODY_BYTES: '1MB' })).toThrow('MAX_BODY_BYTES');
    expect(() => httpConfigFromEnv({ EVIDENCE_PACK_MAX_BYTES: '64M' })).toThrow('EVIDENCE_PACK_MAX_BYTES');
    // seq - last >= NaN is false: no checkpoint would ever have been signed.
    expect(() => checkpointCadenceFromEnv({ AUDIT_CHECKPOINT_EVERY: '100x' })).toThrow('AUDIT_CHECKPOINT_EVERY');
    expect(() => checkpointCadenceFromEnv({ AUDIT_CHECKPOINT_MINUTES: '0' })).toThrow('AUDIT_CHECKPOINT_MINUTES');
    const config = httpConfigFromEnv({ RATE_LIMIT_PER_ADDRESS: '0', WIDGET_MAX_QUESTION_CHARS: '500' });
    expect(config.requestLimits.perAddressPerMinute).toBe(0);
    expect(config.widget.maxQuestionChars).toBe(500);
    expect(config.evidencePackMaxBytes).toBeUndefined();
  });
});
