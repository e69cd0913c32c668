"""The part of SuperOps' GraphQL schema arbridge uses, as SDL, and its resolvers' root.

Written from SuperOps' API documentation (no machine-readable schema is
published): the list queries take a ListInfoInput (page, pageSize, sort,
condition) and answer their rows with a listInfo (page, pageSize, hasMore,
totalCount). Amounts are decimal strings here, so they stay exact. The
payment operations (recordInvoicePayment, deleteInvoicePayment) are this
sandbox's reading of SuperOps' "record payment" on an invoice: assumed names.

# Reference: https://developer.superops.com/msp/#section/Pagination
# Reference: https://developer.superops.com/msp/#operation/getInvoiceList
# Reference: https://developer.superops.com/msp/#operation/getClientList
"""

from __future__ import annotations

from graphql import build_schema

SDL = """
scalar JSON

enum SortOrder { ASC DESC }

input SortInput { attribute: String!  order: SortOrder }

input ListInfoInput { page: Int  pageSize: Int  sort: [SortInput]  condition: JSON }

type ListInfo { page: Int  pageSize: Int  hasMore: Boolean  totalCount: Int }

type ClientUser {
  userId: ID!  firstName: String  lastName: String  email: String  contactNumber: String
}

type Client {
  accountId: ID!  name: String!  email: String  phone: String  status: String
  updatedTime: String  billingContact: ClientUser  primaryContact: ClientUser
}

type ClientList { clients: [Client!]!  listInfo: ListInfo! }

type ClientRef { accountId: ID!  name: String }

type InvoiceItem {
  itemId: ID!  details: String  serviceItemName: String  quantity: String
  unitPrice: String  taxAmount: String  total: String
}

type InvoicePayment {
  paymentId: ID!  amount: String!  paymentDate: String  paymentMode: String  reference: String
}

type Invoice {
  invoiceId: ID!  displayId: String  client: ClientRef  invoiceDate: String  dueDate: String
  statusEnum: String  currencyCode: String  totalAmount: String  amountDue: String
  notes: String  paymentTerm: String  updatedTime: String
  items: [InvoiceItem!]  payments: [InvoicePayment!]
}

type InvoiceList { invoices: [Invoice!]!  listInfo: ListInfo! }

input ClientIdentifierInput { accountId: ID! }
input InvoiceIdentifierInput { invoiceId: ID! }
input InvoicePaymentIdentifierInput { paymentId: ID! }

input RecordInvoicePaymentInput {
  invoice: InvoiceIdentifierInput!  amount: String!  paymentDate: String!
  paymentMode: String  reference: String
}

type Query {
  getClientList(input: ListInfoInput!): ClientList
  getClient(input: ClientIdentifierInput!): Client
  getInvoiceList(input: ListInfoInput!): InvoiceList
  getInvoice(input: InvoiceIdentifierInput!): Invoice
}

type Mutation {
  recordInvoicePayment(input: RecordInvoicePaymentInput!): InvoicePayment
  deleteInvoicePayment(input: InvoicePaymentIdentifierInput!): Boolean
}
"""

SCHEMA = build_schema(SDL)
