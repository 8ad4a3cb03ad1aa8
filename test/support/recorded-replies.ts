/**
 * The recorded webhook messages' keys with the reply that stands for each: in the message's row when it was recorded
 * with it, in `wechat_inbound_replies` when it was claimed and settled later; null while neither. Use as a table:
 * `SELECT reply FROM ${RECORDED_REPLIES} WHERE to_user_name = …`.
 */
export const RECORDED_REPLIES = `(
  SELECT m.to_user_name, m.dedupe_key, m.lease_until, COALESCE(m.reply, r.reply) AS reply
    FROM wechat_inbound_messages m
    LEFT JOIN wechat_inbound_replies r ON r.to_user_name = m.to_user_name AND r.dedupe_key = m.dedupe_key
) AS recorded`;
