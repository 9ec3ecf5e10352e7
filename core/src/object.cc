#include "object.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "world.h"

namespace wdfsim::core {

const char* ObjectTypeName(ObjectType type) {
  switch (type) {
    case ObjectType::kDriver: return "WDFDRIVER";
    case ObjectType::kDevice: return "WDFDEVICE";
    case ObjectType::kMemory: return "WDFMEMORY";
    case ObjectType::kRequestMemory: return "WDFMEMORY";
    case ObjectType::kRequest: return "WDFREQUEST";
    case ObjectType::kIoTarget: return "WDFIOTARGET";
    case ObjectType::kQueue: return "WDFQUEUE";
    case ObjectType::kFileObject: return "WDFFILEOBJECT";
  }
  return "WDFOBJECT";
}

// A context block: the header, then the zeroed context the driver sees.
struct Object::ContextHeader {
  Object* owner;
  PCWDF_OBJECT_CONTEXT_TYPE_INFO type;  // nullptr: callbacks only, no context
  PFN_WDF_OBJECT_CONTEXT_CLEANUP cleanup;
  PFN_WDF_OBJECT_CONTEXT_DESTROY destroy;
  size_t size;
  alignas(16) unsigned char data[1];
};

Object::Object(World& world, ObjectType type)
    : world_(world), type_(type), serial_(world.Register(this, static_cast<uint8_t>(type))) {}

Object::~Object() {
  for (ContextHeader* context : contexts_) std::free(context);
  world_.Unregister(this);
}

void Object::ApplyAttributes(const WDF_OBJECT_ATTRIBUTES* attributes) {
  if (attributes == nullptr) return;
  size_t size = 0;
  if (attributes->ContextTypeInfo != nullptr) {
    size = attributes->ContextSizeOverride != 0 ? attributes->ContextSizeOverride
                                                : attributes->ContextTypeInfo->ContextSize;
  }
  AllocateContext(*attributes, size, nullptr);
}

void Object::Commit(Object* parent) {
  handle_ = world_.handles().Insert(this);
  world_.NoteHandle(handle_, serial_);
  parent_ = parent;
  if (parent != nullptr) parent->AddChild(this);
  world_.Log(EventKind::kObjectCreated, Ddi::kNone, serial_, parent ? parent->serial() : 0);
}

void Object::AddRef() {
  ++references_;
  world_.Log(EventKind::kReference, Ddi::kNone, serial_, references_);
}

void Object::Release(Ddi ddi) {
  --references_;
  world_.Log(EventKind::kDereference, ddi, serial_, references_);
  if (references_ == 0) FinalRelease(ddi);
}

void Object::FinalRelease(Ddi ddi) {
  // ~FxObject: freed while still parented or with children, i.e. never
  // deleted (SEMANTICS-WDF 6.1) -- even if a deleting parent already disposed
  // it, the parent still owns its creation reference; the driver object
  // must always be disposed.
  if (parent_ != nullptr || !children_.empty() ||
      (!disposed_ && (type_ == ObjectType::kDriver || type_ == ObjectType::kDevice))) {
    // ~FxObject on an object never deleted: freed through WdfObjectDereference.
    world_.Report(RuleId::kObjectOverDereference, ddi,
                  "the last reference was released while the object was never deleted "
                  "(freed with WdfObjectDereference instead of WdfObjectDelete)",
                  {this}, reinterpret_cast<uint64_t>(handle_), serial_);
  }
  Destroy();
}

void Object::Destroy() {
  RunCleanupCallbacks();
  for (size_t i = 0; i < contexts_.size(); ++i) {
    if (contexts_[i]->destroy == nullptr) continue;
    world_.Log(EventKind::kDestroyCallback, Ddi::kNone, serial_);
    contexts_[i]->destroy(handle_);
  }
  world_.Log(EventKind::kObjectDestroyed, Ddi::kNone, serial_);
  world_.handles().Remove(handle_);
  delete this;
}

void Object::Delete(Ddi ddi) {
  if (no_delete_ddi_) {
    world_.Report(RuleId::kObjectDeleteNotAllowed, ddi,
                  "WdfObjectDelete on an object the framework deletes itself (STATUS_CANNOT_DELETE)", {this});
    return;
  }
  if (delete_called_) {
    // FxObject::DeleteObject: a second delete is only ASSERTed and dropped.
    world_.Log(EventKind::kNote, ddi, serial_, world_.trace().AddNote("second delete dropped"));
    return;
  }
  DeleteTree(ddi);
}

void Object::DeleteTree(Ddi ddi) {
  delete_called_ = true;
  world_.Log(EventKind::kObjectDeleteCalled, ddi, serial_);
  if (parent_ != nullptr) {
    parent_->RemoveChild(this);
    parent_ = nullptr;
  }
  DisposeTree();
  DestroyChildren(ddi);
  Release(ddi);
}

void Object::DisposeTree() {
  // Children in creation order; a cleanup callback may delete a sibling.
  const std::vector<Object*> snapshot = children_;
  for (Object* child : snapshot) {
    if (std::find(children_.begin(), children_.end(), child) != children_.end()) child->DisposeTree();
  }
  EarlyDispose();
}

void Object::DestroyChildren(Ddi ddi) {
  while (!children_.empty()) {
    Object* child = children_.front();
    children_.erase(children_.begin());
    child->parent_ = nullptr;
    child->DeleteTree(ddi);
  }
}

void Object::ReleaseCreationReference(Ddi ddi) {
  // DeleteEarlyDisposedObject goes through DeleteObject, which drops a second
  // delete: a request the driver already deleted (ReqDelete) keeps only the
  // references others hold.
  if (delete_called_) {
    world_.Log(EventKind::kNote, ddi, serial_, world_.trace().AddNote("second delete dropped"));
    return;
  }
  delete_called_ = true;
  Release(ddi);
}

void Object::EarlyDispose() {
  if (disposed_) return;
  disposed_ = true;
  world_.Log(EventKind::kObjectDisposed, Ddi::kNone, serial_);
  Dispose();
}

void Object::Dispose() { RunCleanupCallbacks(); }

void Object::RunCleanupCallbacks() {
  if (cleanup_ran_) return;
  cleanup_ran_ = true;
  for (size_t i = 0; i < contexts_.size(); ++i) {
    if (contexts_[i]->cleanup == nullptr) continue;
    world_.Log(EventKind::kCleanupCallback, Ddi::kNone, serial_);
    contexts_[i]->cleanup(handle_);
  }
}

void* Object::GetContext(PCWDF_OBJECT_CONTEXT_TYPE_INFO type) const {
  for (ContextHeader* context : contexts_) {
    if (context->type != nullptr && context->type == type) return context->data;
  }
  return nullptr;
}

bool Object::OwnsContext(const void* context) const {
  for (ContextHeader* header : contexts_) {
    if (header->type != nullptr && header->data == context) return true;
  }
  return false;
}

NTSTATUS Object::AllocateContext(const WDF_OBJECT_ATTRIBUTES& attributes, size_t size, void** out) {
  PCWDF_OBJECT_CONTEXT_TYPE_INFO type = attributes.ContextTypeInfo;
  if (type != nullptr) {
    if (void* existing = GetContext(type)) {
      if (out != nullptr) *out = existing;
      return STATUS_OBJECT_NAME_EXISTS;
    }
  }
  auto* context =
      static_cast<ContextHeader*>(std::calloc(1, offsetof(ContextHeader, data) + std::max<size_t>(size, 1)));
  if (context == nullptr) return STATUS_INSUFFICIENT_RESOURCES;
  context->owner = this;
  context->type = type;
  context->cleanup = attributes.EvtCleanupCallback;
  context->destroy = attributes.EvtDestroyCallback;
  context->size = size;
  contexts_.push_back(context);
  if (out != nullptr) *out = context->data;
  return STATUS_SUCCESS;
}

void Object::RemoveChild(Object* child) {
  auto it = std::find(children_.begin(), children_.end(), child);
  if (it != children_.end()) children_.erase(it);
}

}  // namespace wdfsim::core
