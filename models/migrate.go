package models

// migrated lists every table the store owns; Open migrates them in this order.
func migrated() []any {
	return []any{
		&Key{},
		&AuditEvent{},
		&UsageCount{},
		&Consumer{},
		&ConsumerACLGroup{},
		&Client{},
		&WebhookEndpoint{},
		&WebhookDelivery{},
		&WebhookAttempt{},
		&ConsoleSession{},
		&EventCursor{},
		&Lease{},
		&KeyReminder{},
		&UsageFlush{},
		&StoreSetting{},
		&SigningKey{},
		&ConsumerKeyClient{},
	}
}
