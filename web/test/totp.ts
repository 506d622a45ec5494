/** Authenticator-app codes for the console's browser tests, as an app would show them. */
import { generate } from 'otplib';

/**
 * A source of TOTP codes that never repeats a time step per secret: the server accepts each step
 * once, and one step either side of its clock, so the next code is of a later step (waiting for
 * the clock when that step is two ahead).
 */
export function totpCodes(): (secret: string) => Promise<string> {
  const lastStep = new Map<string, number>();
  return async (secret) => {
    const currentStep = () => Math.floor(Date.now() / 1000 / 30);
    const step = Math.max((lastStep.get(secret) ?? -1) + 1, currentStep());
    while (step > currentStep() + 1) await new Promise((resolve) => setTimeout(resolve, 250));
    lastStep.set(secret, step);
    return generate({ secret, epoch: step * 30 });
  };
}
