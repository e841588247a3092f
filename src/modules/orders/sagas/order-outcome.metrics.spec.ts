import { CUSTOMER_DEACTIVATED_REASON } from './order-fulfilment.saga';
import { rejectionReasonLabel } from './order-outcome.metrics';

describe('the reason label of a rejected order', () => {
  it('names each reason the saga and its deadline give', () => {
    expect(rejectionReasonLabel('insufficient credit')).toBe('insufficient_credit');
    expect(rejectionReasonLabel(CUSTOMER_DEACTIVATED_REASON)).toBe('customer_deactivated');
    expect(rejectionReasonLabel('timeout')).toBe('timeout');
  });

  it('is "other" for any other reason, so the number of series stays bounded', () => {
    expect(rejectionReasonLabel('a reason from a future version')).toBe('other');
  });
});
