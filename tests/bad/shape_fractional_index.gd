data x[3], Y
param w[3]
model y = dot(w, x) + w[1.5]
loss mean((y - Y)^2)
