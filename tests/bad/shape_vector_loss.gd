data x[d], Y
param w[d]
model y = dot(w, x)
loss mean((y - Y)^2) + w^2
