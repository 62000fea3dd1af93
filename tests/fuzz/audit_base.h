/* A fixed audit log of two records: the file that the audit-recovery fuzz
 * target recovers into, and that its seeds continue. */
#ifndef HV_AUDIT_BASE_H
#define HV_AUDIT_BASE_H

#define HV_AUDIT_BASE \
    "{\"seq\":1,\"at\":\"2026-11-22T15:49:24.387Z\",\"node\":\"broker.xc\"," \
    "\"subject\":\"3c000000000000000000000000000000\",\"event\":\"stored\",\"by\":\"ngo.xa\"," \
    "\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\"," \
    "\"hash\":\"2606e6014f393c463d1877d8861310b366f5c4b84806a297178d12e96ac6814e\"}\n" \
    "{\"seq\":2,\"at\":\"2026-11-22T15:49:24.388Z\",\"node\":\"broker.xc\"," \
    "\"subject\":\"3c000000000000000000000000000000\",\"event\":\"delivered\",\"by\":\"shelter.xc\"," \
    "\"prev\":\"2606e6014f393c463d1877d8861310b366f5c4b84806a297178d12e96ac6814e\"," \
    "\"hash\":\"9280a1152aacb01016bbab7118756c46bd4b85498299dfa321895d402a6263b2\"}\n"

#endif
