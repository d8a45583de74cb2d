--
-- PostgreSQL database dump
--


-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: keyward_api_keys_notify(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.keyward_api_keys_notify() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND (to_jsonb(OLD) - 'last_used_at' - 'last_used_ip' - 'updated_at')
       = (to_jsonb(NEW) - 'last_used_at' - 'last_used_ip' - 'updated_at') THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('keyward_keys', OLD.lookup_id);
  ELSE
    PERFORM pg_notify('keyward_keys', NEW.lookup_id);
  END IF;
  RETURN NULL;
END $$;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: api_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.api_keys (
    id character varying(36) NOT NULL,
    owner_id text NOT NULL,
    owner_username text NOT NULL,
    name text NOT NULL,
    description text NOT NULL,
    lookup_id text NOT NULL,
    secret_hash bytea NOT NULL,
    environment text NOT NULL,
    scopes text NOT NULL,
    enabled boolean NOT NULL,
    metadata text DEFAULT '{}'::text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone,
    deleted_at timestamp with time zone,
    last_used_at timestamp with time zone,
    rotated_to character varying(36),
    grace_until timestamp with time zone,
    last_used_ip text DEFAULT ''::text NOT NULL,
    rate_limit_requests bigint DEFAULT 0 NOT NULL,
    rate_limit_window_seconds bigint DEFAULT 0 NOT NULL,
    ip_allowlist text DEFAULT ''::text NOT NULL,
    disabled_by text DEFAULT ''::text NOT NULL,
    limit_set_by text DEFAULT ''::text NOT NULL,
    allowlist_set_by text DEFAULT ''::text NOT NULL,
    owner_disabled boolean DEFAULT false NOT NULL
);


--
-- Name: audit_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_events (
    id character varying(36) NOT NULL,
    at timestamp with time zone NOT NULL,
    actor_id text NOT NULL,
    actor_name text NOT NULL,
    action text NOT NULL,
    target_type text NOT NULL,
    target_id text NOT NULL,
    owner_id text NOT NULL,
    on_behalf_of text DEFAULT ''::text NOT NULL,
    ip text NOT NULL,
    request_id text NOT NULL,
    details text NOT NULL
);


--
-- Name: console_sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.console_sessions (
    id_hash character varying(64) NOT NULL,
    pending boolean NOT NULL,
    subject text DEFAULT ''::text NOT NULL,
    username text DEFAULT ''::text NOT NULL,
    login_state bytea,
    tokens bytea,
    access_expires_at timestamp with time zone NOT NULL,
    refreshed_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone NOT NULL,
    last_seen_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL
);


--
-- Name: consumer_acl_groups; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.consumer_acl_groups (
    consumer_id character varying(36) NOT NULL,
    group_name text NOT NULL
);


--
-- Name: consumers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.consumers (
    id character varying(36) NOT NULL,
    name text NOT NULL,
    description text NOT NULL,
    environment text NOT NULL,
    version bigint NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: event_cursors; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.event_cursors (
    feed character varying(64) NOT NULL,
    time_millis bigint NOT NULL,
    handled_ids text NOT NULL,
    updated_at timestamp with time zone
);


--
-- Name: key_reminders; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.key_reminders (
    key_id character varying(36) NOT NULL,
    kind character varying(16) NOT NULL,
    claimed_at timestamp with time zone NOT NULL,
    sent_at timestamp with time zone,
    attempts bigint DEFAULT 0 NOT NULL,
    last_error text DEFAULT ''::text NOT NULL
);


--
-- Name: key_usage; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.key_usage (
    key_id character varying(36) NOT NULL,
    day character varying(10) NOT NULL,
    outcome character varying(32) NOT NULL,
    via character varying(16) NOT NULL,
    count bigint NOT NULL
);


--
-- Name: leases; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.leases (
    name character varying(64) NOT NULL,
    holder text NOT NULL,
    expires_at timestamp with time zone NOT NULL
);


--
-- Name: oauth_clients; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.oauth_clients (
    id character varying(36) NOT NULL,
    consumer_id character varying(36) NOT NULL,
    client_id text NOT NULL,
    keycloak_id text NOT NULL,
    service_account_id text NOT NULL,
    name text NOT NULL,
    description text NOT NULL,
    redirect_uris text NOT NULL,
    enabled boolean NOT NULL,
    state text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: signing_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.signing_keys (
    kid character varying(64) NOT NULL,
    sealed bytea NOT NULL,
    created_at timestamp with time zone NOT NULL,
    active_from timestamp with time zone NOT NULL
);


--
-- Name: store_settings; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.store_settings (
    name character varying(64) NOT NULL,
    value bytea NOT NULL
);


--
-- Name: usage_flushes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.usage_flushes (
    id character varying(36) NOT NULL,
    at timestamp with time zone NOT NULL
);


--
-- Name: webhook_attempts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhook_attempts (
    id character varying(36) NOT NULL,
    delivery_id character varying(36) NOT NULL,
    at timestamp with time zone NOT NULL,
    status_code bigint NOT NULL,
    error text NOT NULL,
    duration_ms bigint NOT NULL,
    manual boolean NOT NULL
);


--
-- Name: webhook_deliveries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhook_deliveries (
    id character varying(36) NOT NULL,
    endpoint_id character varying(36) NOT NULL,
    event_id character varying(36) NOT NULL,
    message_id text NOT NULL,
    event_type text NOT NULL,
    payload text NOT NULL,
    state text NOT NULL,
    attempts bigint DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone NOT NULL,
    retry_from timestamp with time zone NOT NULL,
    lease_owner text DEFAULT ''::text NOT NULL,
    lease_until timestamp with time zone,
    manual boolean DEFAULT false NOT NULL,
    last_status bigint DEFAULT 0 NOT NULL,
    last_error text DEFAULT ''::text NOT NULL,
    delivered_at timestamp with time zone,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: webhook_endpoints; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhook_endpoints (
    id character varying(36) NOT NULL,
    url text NOT NULL,
    description text NOT NULL,
    event_types text NOT NULL,
    enabled boolean NOT NULL,
    disabled_reason text DEFAULT ''::text NOT NULL,
    secret_sealed bytea NOT NULL,
    previous_secret_sealed bytea,
    previous_secret_until timestamp with time zone,
    consecutive_failures bigint DEFAULT 0 NOT NULL,
    failing_since timestamp with time zone,
    created_by text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Data for Name: api_keys; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.api_keys VALUES ('aaaaaaaa-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'alice', 'ci', 'the CI''s key', 'UpgradeFix01', '\xa8a132366b24c6328e33e15276131b767d506084c7d42c0bb42959f0e35ddae3', 'development', 'openid reports', true, '{"team":"data"}', '2026-11-30 09:00:00+00', '2026-11-30 09:00:00+00', '2027-11-30 09:00:00+00', NULL, NULL, NULL, NULL, '', 100, 60, '10.0.0.0/8 127.0.0.1/32', '', 'admin', '', false);
INSERT INTO public.api_keys VALUES ('aaaaaaaa-0000-4000-8000-000000000002', '11111111-1111-4111-8111-111111111111', 'alice', 'old', '', 'UpgradeFix02', '\x243d14f8f0d494be31ddcab90f59b538b5a24979ab1bb965ce0dc52546e1bfec', 'production', '', false, '{}', '2026-11-30 09:00:00+00', '2026-11-30 09:00:00+00', NULL, NULL, NULL, NULL, NULL, '', -1, 0, '', 'admin', '', '', false);
INSERT INTO public.api_keys VALUES ('aaaaaaaa-0000-4000-8000-000000000003', '11111111-1111-4111-8111-111111111111', 'alice', 'gone', '', 'UpgradeFix03', '\xa379bc4be78fa6a7df8525009c05582d5a977b7056cad310b663da14b58a835b', 'staging', '', true, '{}', '2026-11-30 09:00:00+00', '2026-11-30 10:00:00+00', NULL, '2026-11-30 10:00:00+00', NULL, NULL, NULL, '', 0, 0, '', '', '', '', false);


--
-- Data for Name: audit_events; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.audit_events VALUES ('99999999-0000-4000-8000-000000000001', '2026-11-30 09:00:00+00', '11111111-1111-4111-8111-111111111111', 'alice', 'key.create', 'key', 'aaaaaaaa-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', '', '127.0.0.1', 'req-1', '{"name":"ci"}');


--
-- Data for Name: console_sessions; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: consumer_acl_groups; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.consumer_acl_groups VALUES ('bbbbbbbb-0000-4000-8000-000000000001', 'billing');
INSERT INTO public.consumer_acl_groups VALUES ('bbbbbbbb-0000-4000-8000-000000000001', 'reports');


--
-- Data for Name: consumers; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.consumers VALUES ('bbbbbbbb-0000-4000-8000-000000000001', 'billing-service', 'bills', 'production', 1, '2026-11-30 09:00:00+00', '2026-11-30 09:00:00+00');


--
-- Data for Name: event_cursors; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: key_reminders; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: key_usage; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.key_usage VALUES ('aaaaaaaa-0000-4000-8000-000000000001', '2026-11-29', 'issued', 'token', 7);
INSERT INTO public.key_usage VALUES ('aaaaaaaa-0000-4000-8000-000000000001', '2026-11-30', 'rate_limited', 'token', 2);


--
-- Data for Name: leases; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: oauth_clients; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.oauth_clients VALUES ('cccccccc-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000001', 'kw-billing-service', 'dddddddd-0000-4000-8000-000000000001', 'eeeeeeee-0000-4000-8000-000000000001', 'billing', 'the billing client', '["https://app.example.com/cb"]', true, 'active', '2026-11-30 09:00:00+00', '2026-11-30 09:00:00+00');


--
-- Data for Name: signing_keys; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: store_settings; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: usage_flushes; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: webhook_attempts; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: webhook_deliveries; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: webhook_endpoints; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.webhook_endpoints VALUES ('ffffffff-0000-4000-8000-000000000001', 'https://hooks.example.com/keyward', 'SIEM', '["key.created","key.revoked"]', true, '', '\x7365616c65642d7365637265742d62797465732d6f662d7468652d66697874757265', NULL, NULL, 0, NULL, 'admin', '2026-11-30 09:00:00+00', '2026-11-30 09:00:00+00');


--
-- Name: api_keys api_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id);


--
-- Name: audit_events audit_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_events
    ADD CONSTRAINT audit_events_pkey PRIMARY KEY (id);


--
-- Name: console_sessions console_sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.console_sessions
    ADD CONSTRAINT console_sessions_pkey PRIMARY KEY (id_hash);


--
-- Name: consumer_acl_groups consumer_acl_groups_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.consumer_acl_groups
    ADD CONSTRAINT consumer_acl_groups_pkey PRIMARY KEY (consumer_id, group_name);


--
-- Name: consumers consumers_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.consumers
    ADD CONSTRAINT consumers_pkey PRIMARY KEY (id);


--
-- Name: event_cursors event_cursors_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.event_cursors
    ADD CONSTRAINT event_cursors_pkey PRIMARY KEY (feed);


--
-- Name: key_reminders key_reminders_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.key_reminders
    ADD CONSTRAINT key_reminders_pkey PRIMARY KEY (key_id, kind);


--
-- Name: key_usage key_usage_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.key_usage
    ADD CONSTRAINT key_usage_pkey PRIMARY KEY (key_id, day, outcome, via);


--
-- Name: leases leases_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.leases
    ADD CONSTRAINT leases_pkey PRIMARY KEY (name);


--
-- Name: oauth_clients oauth_clients_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.oauth_clients
    ADD CONSTRAINT oauth_clients_pkey PRIMARY KEY (id);


--
-- Name: signing_keys signing_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.signing_keys
    ADD CONSTRAINT signing_keys_pkey PRIMARY KEY (kid);


--
-- Name: store_settings store_settings_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.store_settings
    ADD CONSTRAINT store_settings_pkey PRIMARY KEY (name);


--
-- Name: usage_flushes usage_flushes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.usage_flushes
    ADD CONSTRAINT usage_flushes_pkey PRIMARY KEY (id);


--
-- Name: webhook_attempts webhook_attempts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_attempts
    ADD CONSTRAINT webhook_attempts_pkey PRIMARY KEY (id);


--
-- Name: webhook_deliveries webhook_deliveries_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id);


--
-- Name: webhook_endpoints webhook_endpoints_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_endpoints
    ADD CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (id);


--
-- Name: idx_api_keys_lookup_id; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX idx_api_keys_lookup_id ON public.api_keys USING btree (lookup_id);


--
-- Name: idx_api_keys_owner_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_api_keys_owner_id ON public.api_keys USING btree (owner_id);


--
-- Name: idx_api_keys_owner_live_name; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX idx_api_keys_owner_live_name ON public.api_keys USING btree (owner_id, name) WHERE ((deleted_at IS NULL) AND (rotated_to IS NULL));


--
-- Name: idx_audit_actor; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_audit_actor ON public.audit_events USING btree (actor_id);


--
-- Name: idx_audit_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_audit_at ON public.audit_events USING btree (at);


--
-- Name: idx_audit_owner; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_audit_owner ON public.audit_events USING btree (owner_id);


--
-- Name: idx_audit_target; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_audit_target ON public.audit_events USING btree (target_id);


--
-- Name: idx_console_sessions_expires_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_console_sessions_expires_at ON public.console_sessions USING btree (expires_at);


--
-- Name: idx_consumer_acl_groups_group; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_consumer_acl_groups_group ON public.consumer_acl_groups USING btree (group_name);


--
-- Name: idx_consumers_environment; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_consumers_environment ON public.consumers USING btree (environment);


--
-- Name: idx_consumers_name; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX idx_consumers_name ON public.consumers USING btree (name);


--
-- Name: idx_key_reminders_pending; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_key_reminders_pending ON public.key_reminders USING btree (claimed_at);


--
-- Name: idx_oauth_clients_client_id; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX idx_oauth_clients_client_id ON public.oauth_clients USING btree (client_id);


--
-- Name: idx_oauth_clients_consumer; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_oauth_clients_consumer ON public.oauth_clients USING btree (consumer_id);


--
-- Name: idx_oauth_clients_state; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_oauth_clients_state ON public.oauth_clients USING btree (state);


--
-- Name: idx_signing_keys_active_from; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_signing_keys_active_from ON public.signing_keys USING btree (active_from);


--
-- Name: idx_usage_flushes_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_usage_flushes_at ON public.usage_flushes USING btree (at);


--
-- Name: idx_webhook_attempts_delivery; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_webhook_attempts_delivery ON public.webhook_attempts USING btree (delivery_id);


--
-- Name: idx_webhook_deliveries_due; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_webhook_deliveries_due ON public.webhook_deliveries USING btree (state, next_attempt_at);


--
-- Name: idx_webhook_deliveries_endpoint; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_webhook_deliveries_endpoint ON public.webhook_deliveries USING btree (endpoint_id, created_at);


--
-- Name: idx_webhook_deliveries_event; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX idx_webhook_deliveries_event ON public.webhook_deliveries USING btree (endpoint_id, event_id);


--
-- Name: idx_webhook_endpoints_created; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_webhook_endpoints_created ON public.webhook_endpoints USING btree (created_at);


--
-- Name: api_keys keyward_api_keys_notify; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER keyward_api_keys_notify AFTER INSERT OR DELETE OR UPDATE ON public.api_keys FOR EACH ROW EXECUTE FUNCTION public.keyward_api_keys_notify();


--
-- PostgreSQL database dump complete
--


