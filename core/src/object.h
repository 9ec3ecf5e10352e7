// The framework object (FxObject): type, references, parent and children,
// cleanup and destroy callbacks, contexts, and the delete/dispose/destroy
// life cycle of SEMANTICS-WDF section 6. Every object kind derives from it.
#ifndef WDFSIM_CORE_OBJECT_H_
#define WDFSIM_CORE_OBJECT_H_

#include <cstdint>
#include <vector>

#include "ddi.h"
#include "wdfsim/wdf.h"

namespace wdfsim::core {

class World;

enum class ObjectType : uint8_t {
  kDriver = 1,
  kDevice,
  kMemory,
  kRequestMemory,  // a request's embedded WDFMEMORY (FxRequestMemory)
  kRequest,
  kIoTarget,
  kQueue,
  kFileObject,
};

// "WDFMEMORY" for kMemory and kRequestMemory, and so on.
const char* ObjectTypeName(ObjectType type);

class Object {
 public:
  Object(World& world, ObjectType type);
  virtual ~Object();
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;

  World& world() const { return world_; }
  ObjectType type() const { return type_; }
  uint32_t serial() const { return serial_; }
  WDFOBJECT handle() const { return handle_; }
  int32_t references() const { return references_; }
  Object* parent() const { return parent_; }
  bool delete_called() const { return delete_called_; }
  bool disposed() const { return disposed_; }
  // Deleted, disposed, or on the way there: no longer in the Created state.
  bool deleting() const { return delete_called_ || disposed_; }

  // Applies the callbacks and context of validated attributes (the object's
  // first context header).
  void ApplyAttributes(const WDF_OBJECT_ATTRIBUTES* attributes);
  // Gives the object its handle and parent (FxObject::Commit). A null parent
  // leaves the object unparented (queue-presented requests).
  void Commit(Object* parent);
  // Set for objects WdfObjectDelete refuses (FX_OBJECT_NO_DELETE_DDI).
  void set_no_delete_ddi() { no_delete_ddi_ = true; }
  bool no_delete_ddi() const { return no_delete_ddi_; }

  // WdfObjectReference / Dereference. Overridden where references are
  // redirected (FxRequestMemory -> the request's IRP reference count).
  virtual void AddRef();
  virtual void Release(Ddi ddi);

  // WdfObjectDelete (FxObject::DeleteObject).
  virtual void Delete(Ddi ddi);
  // Marks the object deleted, detaches it from its parent, disposes the
  // children and then the object, deletes the children and releases the
  // creation reference (DeleteObject, DisposeChildrenWorker,
  // DeletedAndDisposedWorkerLocked).
  void DeleteTree(Ddi ddi);
  // Disposes every child (recursively), then this object: every child's
  // cleanup returns before its parent's (SEMANTICS-WDF 6.2).
  void DisposeTree();
  // DestroyChildren: each child is deleted and its creation reference released.
  void DestroyChildren(Ddi ddi);
  // The creation reference of an object disposed early (a completed
  // queue-presented request: DeleteEarlyDisposedObject); nothing if the
  // driver already deleted it.
  void ReleaseCreationReference(Ddi ddi);

  // Contexts.
  void* GetContext(PCWDF_OBJECT_CONTEXT_TYPE_INFO type) const;
  // WdfObjectAllocateContext's AddContext: STATUS_OBJECT_NAME_EXISTS (and the
  // existing context) when the type is already there.
  NTSTATUS AllocateContext(const WDF_OBJECT_ATTRIBUTES& attributes, size_t size, void** out);
  bool OwnsContext(const void* context) const;

  void AddChild(Object* child) { children_.push_back(child); }
  void RemoveChild(Object* child);
  const std::vector<Object*>& children() const { return children_; }

 protected:
  // Runs this object's dispose step once: Dispose(), at most once.
  void EarlyDispose();
  // The object-specific part of dispose; the default runs the cleanup callbacks.
  virtual void Dispose();
  // Each context's EvtCleanupCallback, once, in allocation order.
  void RunCleanupCallbacks();
  // Reached when the last reference goes: the over-dereference check, then
  // EvtDestroyCallback and the free.
  virtual void FinalRelease(Ddi ddi);
  void Destroy();

  int32_t references_ = 1;  // the creation reference

 private:
  struct ContextHeader;

  World& world_;
  ObjectType type_;
  uint32_t serial_;
  WDFOBJECT handle_ = nullptr;
  Object* parent_ = nullptr;
  std::vector<Object*> children_;
  bool delete_called_ = false;
  bool disposed_ = false;
  bool cleanup_ran_ = false;
  bool no_delete_ddi_ = false;
  std::vector<ContextHeader*> contexts_;  // the first comes from the creation attributes
};

}  // namespace wdfsim::core

#endif  // WDFSIM_CORE_OBJECT_H_
