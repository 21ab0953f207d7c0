/*
 * contacts.c — contacts kept on the server (PROTOCOL.md "Contacts"): the
 * store holds them, every answer is the whole sorted list with each
 * contact's online state.
 */
#include "events.h"
#include "request.h"
#include "session.h"

#include <errno.h>
#include <string.h>

typedef struct listing {
    json_writer_t *w;
    chat_hub_t *hub;
} listing_t;

static int add_contact(void *ctx, const char *display)
{
    listing_t *l = ctx;
    char key[CHAT_NAME_MAX], why[96];
    chat_name_check(display, strlen(display), key, why, sizeof why);
    json_object_begin(l->w);
    json_member_str(l->w, "name", display);
    json_member_bool(l->w, "online", l->hub->ops->online(l->hub, key));
    json_object_end(l->w);
    return 0;
}

static void fill_contacts(json_writer_t *w, void *ctx)
{
    req_t *r = ctx;
    chat_server_t *srv = r->s->srv;
    ev_ref(w, r->ref);
    json_key(w, "contacts");
    json_array_begin(w);
    listing_t l = {w, srv->hub};
    srv->store->ops->contacts(srv->store, r->s->key, add_contact, &l);
    json_array_end(w);
}

static void answer(req_t *r)
{
    ev_send_built(r->s, "contacts", 4096, fill_contacts, r);
}

void contacts_list(req_t *r)
{
    answer(r);
}

/* The claimed user named by the request's "name": 0 and its key, or -1
 * after the error. */
static int contact_key(req_t *r, char *key)
{
    chat_store_t *st = r->s->srv->store;
    char name[CHAT_NAME_MAX * 2], why[96];
    size_t len;
    if (req_str(r, "name", 1, name, sizeof name, &len) != REQ_OK)
        return -1;
    if (chat_name_check(name, len, key, why, sizeof why) ||
        st->ops->lookup(st, key, NULL, NULL) != 1) {
        proto_error(r->s, r->ref, "no_such_user",
                    "no such user: %s (contacts are claimed names)", name);
        return -1;
    }
    return 0;
}

void contacts_add(req_t *r)
{
    chat_store_t *st = r->s->srv->store;
    char key[CHAT_NAME_MAX];
    if (contact_key(r, key) != 0)
        return;
    int e = st->ops->contact_add(st, r->s->key, key);
    if (e == -ERANGE)
        proto_error(r->s, r->ref, "too_many_contacts", "at most %d contacts",
                    CHAT_MAX_CONTACTS);
    else if (e < 0)
        proto_error(r->s, r->ref, "internal", "cannot store it: %s",
                    strerror(-e));
    else
        answer(r);
}

void contacts_remove(req_t *r)
{
    chat_store_t *st = r->s->srv->store;
    char key[CHAT_NAME_MAX];
    if (contact_key(r, key) != 0)
        return;
    int e = st->ops->contact_remove(st, r->s->key, key);
    if (e == 1)
        proto_error(r->s, r->ref, "not_a_contact",
                    "not one of your "
                    "contacts");
    else if (e < 0)
        proto_error(r->s, r->ref, "internal", "cannot store it: %s",
                    strerror(-e));
    else
        answer(r);
}
