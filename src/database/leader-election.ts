import { SessionAdvisoryLock } from './session-advisory-lock';

/** What the leader does when it starts and stops leading. */
export interface LeadershipHooks {
  /**
   * Runs once each time this process wins the lease, before `campaign` resolves true. When it
   * rejects, the lease is given up again and `campaign` rejects with its error.
   */
  onElected?(): Promise<void>;
  /** Runs when the lease is lost without `resign` (its session died): another process may lead now. */
  onDeposed?(): void;
}

/**
 * One leader among the processes that share a database, for one piece of work named by `key`:
 * the leader is the process whose SessionAdvisoryLock on `key` is granted. Followers call
 * `campaign` again whenever they want to know whether they lead now (one statement on their own
 * lease session); a leader keeps leading until it resigns or its session dies.
 */
export class LeaderElection {
  private readonly lease: SessionAdvisoryLock;
  /** The campaign in progress: a second caller shares it, so onElected runs once per win. */
  private campaigning?: Promise<boolean>;
  /** Counts resignations: a campaign that a resign overtook does not lead (nor run onElected). */
  private resignations = 0;

  constructor(
    connectionString: string,
    readonly key: string,
    private readonly hooks: LeadershipHooks = {},
    /** See SessionAdvisoryLock: a leader that stops working is deposed within it. */
    sessionTimeoutMs?: number,
  ) {
    this.lease = new SessionAdvisoryLock(connectionString, key, () => this.hooks.onDeposed?.(), sessionTimeoutMs);
  }

  get isLeader(): boolean {
    return this.lease.held;
  }

  /** True when this process leads (now or already), false when another one does (or it lost or resigned the lease meanwhile); rejects when PostgreSQL cannot be reached or onElected failed. */
  campaign(): Promise<boolean> {
    this.campaigning ??= this.runCampaign().finally(() => (this.campaigning = undefined));
    return this.campaigning;
  }

  private async runCampaign(): Promise<boolean> {
    const wasLeader = this.lease.held;
    const resignations = this.resignations;
    if (!(await this.lease.tryAcquire()) || this.resignations !== resignations) return false;
    if (!wasLeader && this.hooks.onElected) {
      try {
        await this.hooks.onElected();
      } catch (error) {
        await this.lease.release();
        throw error;
      }
    }
    // The session may have died, or the lease been given up, while onElected ran.
    return this.lease.held;
  }

  /** Stops leading (or campaigning): closes the lease's session, so another process can win. */
  resign(): Promise<void> {
    this.resignations += 1;
    return this.lease.release();
  }
}
