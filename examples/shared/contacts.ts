/**
 * The example API's own data: contacts per account, in memory. Each framework example serves
 * the same two routes over it, so the only difference between them is the adapter.
 */
export interface Contact {
  id: number;
  name: string;
  email: string | null;
}

export interface Contacts {
  list(accountId: string): Contact[];
  add(accountId: string, input: unknown): Contact | null;
}

/** A tiny in-memory contact book; `add` returns null for invalid input. */
export function createContacts(): Contacts {
  const byAccount = new Map<string, Contact[]>();
  let nextId = 1;
  return {
    list: (accountId) => byAccount.get(accountId) ?? [],
    add(accountId, input) {
      const { name, email } = (typeof input === "object" && input !== null ? input : {}) as Record<string, unknown>;
      if (typeof name !== "string" || name.trim() === "" || name.length > 100) return null;
      const contact = { id: nextId++, name: name.trim(), email: typeof email === "string" ? email : null };
      byAccount.set(accountId, [...(byAccount.get(accountId) ?? []), contact]);
      return contact;
    },
  };
}

/** The 400 body, in the same envelope as the library's errors. */
export const INVALID_CONTACT = {
  success: false,
  error: { code: "VALIDATION_ERROR", message: "A contact needs a name" },
} as const;
